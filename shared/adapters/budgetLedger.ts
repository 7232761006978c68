/**
 * The deployment's call budgets, leased in parts through the hub's bucket. FC instances share no
 * memory: each takes a part of a key's minute by making its slot's object, which OSS lets only one
 * caller make (`x-oss-forbid-overwrite`). However many instances are busy, no more parts than the
 * budget holds are won in a minute, and a lone busy instance may use the whole budget.
 */
import type { BudgetLedger, BudgetSlot } from "./throttleGate";

export const BUDGETS_PREFIX = "budgets/v1/";

/** `budgets/v1/2026-12-08T00:17/<account>/<region>/ecs/RunCommand/3`: one object per part won. */
export function budgetSlotKey(slot: BudgetSlot): string {
  const minute = new Date(slot.minute * 60_000).toISOString().slice(0, 16);
  return `${BUDGETS_PREFIX}${minute}/${slot.accountId}/${slot.region}/${slot.service}/${slot.operation}/${slot.slot}`;
}

export function objectBudgetLedger(store: { createOnce(key: string): Promise<boolean> }): BudgetLedger {
  return { claim: (slot) => store.createOnce(budgetSlotKey(slot)) };
}

import type { Clock } from "./types";

/** Source of wall time, injectable so the clock itself can be tested without waiting. */
export interface WallTime {
  now(): number;
  setTimeout(callback: () => void, ms: number): { cancel(): void };
}

export const systemWallTime: WallTime = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    // Emulator timers must never keep a process (or jest) alive on their own.
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};

export interface EmulatorClockOptions {
  /** Emulator time at start, in epoch ms. Default: the wall time. */
  startAt?: number;
  /** Emulator milliseconds per wall millisecond (0 freezes time: only `advance` moves it). Default 1. */
  scale?: number;
  wallTime?: WallTime;
}

interface Timer {
  id: number;
  at: number;
  callback: () => void;
}

/**
 * Emulator time: runs at `scale` × wall speed from an anchor and jumps forward on `advance`. Timers
 * fire on emulator time, whether it passes by itself or is advanced, so tests never sleep.
 */
export class EmulatorClock implements Clock {
  private anchorEmulator: number;
  private anchorWall: number;
  private currentScale: number;
  private readonly wall: WallTime;
  private timers: Timer[] = [];
  private nextTimerId = 1;
  private pendingWake: { cancel(): void } | undefined;

  constructor(options: EmulatorClockOptions = {}) {
    this.wall = options.wallTime ?? systemWallTime;
    this.anchorWall = this.wall.now();
    this.anchorEmulator = options.startAt ?? this.anchorWall;
    this.currentScale = validScale(options.scale ?? 1);
  }

  now(): number {
    return Math.floor(this.anchorEmulator + (this.wall.now() - this.anchorWall) * this.currentScale);
  }

  get scale(): number {
    return this.currentScale;
  }

  /** Changes the speed from now on (time already passed is kept). */
  setScale(scale: number): void {
    this.reanchor();
    this.currentScale = validScale(scale);
    this.fireDueAndRearm();
  }

  /** Moves emulator time forward and fires every timer that became due, in order. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot advance the clock by ${ms} ms`);
    this.reanchor();
    this.anchorEmulator += ms;
    this.fireDueAndRearm();
  }

  /** Runs `callback` once emulator time reaches `at`. Returns a cancel function. */
  setTimer(at: number, callback: () => void): () => void {
    const timer: Timer = { id: this.nextTimerId++, at, callback };
    this.timers.push(timer);
    this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
    this.fireDueAndRearm();
    return () => {
      this.timers = this.timers.filter((candidate) => candidate.id !== timer.id);
      this.rearm();
    };
  }

  /** Runs `callback` after `ms` of emulator time. */
  setTimeout(ms: number, callback: () => void): () => void {
    return this.setTimer(this.now() + ms, callback);
  }

  /** Cancels every timer (admin reset). */
  clearTimers(): void {
    this.timers = [];
    this.rearm();
  }

  private reanchor(): void {
    this.anchorEmulator = this.now();
    this.anchorWall = this.wall.now();
  }

  private fireDueAndRearm(): void {
    for (;;) {
      const first = this.timers[0];
      if (first === undefined || first.at > this.now()) break;
      this.timers.shift();
      first.callback();
    }
    this.rearm();
  }

  private rearm(): void {
    this.pendingWake?.cancel();
    this.pendingWake = undefined;
    const first = this.timers[0];
    if (first === undefined || this.currentScale === 0) return;
    const wallDelay = Math.max(0, Math.ceil((first.at - this.now()) / this.currentScale));
    this.pendingWake = this.wall.setTimeout(() => this.fireDueAndRearm(), wallDelay);
  }
}

function validScale(scale: number): number {
  if (!Number.isFinite(scale) || scale < 0) throw new RangeError(`invalid clock scale ${scale}`);
  return scale;
}

/** `2026-01-01T00:00:00Z`: the second-precision UTC format Alibaba's APIs use. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

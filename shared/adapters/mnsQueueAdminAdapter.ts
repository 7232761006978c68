/**
 * QueueAdminPort on `@alicloud/mns`: the deployment makes the hub's queues through it. Each call is
 * made once (no retry, no gate): the deployment is run by a person, who reruns it.
 */
import type MnsClient from "@alicloud/mns";
import type { CredentialsPort } from "../ports/credentials";
import type { QueueScope } from "../ports/queue";
import type { CreateQueueOutcome, QueueAdminPort, QueueAttributes } from "../ports/queueAdmin";
import { CloudError, toCloudError } from "./cloudError";
import type { SdkClients } from "./sdkClients";

export interface MnsQueueAdminAdapterDependencies {
  clients: SdkClients;
  credentials: CredentialsPort;
}

export class MnsQueueAdminAdapter implements QueueAdminPort {
  constructor(
    readonly scope: QueueScope,
    private readonly deps: MnsQueueAdminAdapterDependencies,
  ) {}

  async createQueue(name: string, attributes: QueueAttributes): Promise<CreateQueueOutcome> {
    const mns = await this.client();
    try {
      const response = await mns.createQueue(name, attributes);
      // MNS answers 201 for a new queue, 204 for an identical existing one.
      return response.code === 204 ? "unchanged" : "created";
    } catch (error) {
      const cloud = toCloudError(error, "mns", "CreateQueue");
      if (cloud.code === "QueueAlreadyExist") return "exists";
      throw cloud;
    }
  }

  async setQueueAttributes(name: string, attributes: QueueAttributes): Promise<void> {
    const mns = await this.client();
    try {
      await mns.setQueueAttributes(name, attributes);
    } catch (error) {
      throw error instanceof CloudError ? error : toCloudError(error, "mns", "SetQueueAttributes");
    }
  }

  private async client(): Promise<MnsClient> {
    const { accountId, region } = this.scope;
    const credentials = await this.deps.credentials.forAccount(accountId);
    return this.deps.clients.mns(accountId, region, credentials);
  }
}

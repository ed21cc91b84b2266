/**
 * ECS task scale-in protection, held while any job runs, so scaling in never picks a task in the
 * middle of a document (an interruption still ends cleanly through SIGTERM and checkpoints).
 */
import { ECSClient, UpdateTaskProtectionCommand } from '@aws-sdk/client-ecs';
import { z } from 'zod';

export interface ScaleInProtection {
  set(enabled: boolean): Promise<void>;
}

export const noScaleInProtection: ScaleInProtection = { set: async () => undefined };

/** Turns protection on with the first job and off after the last; failures are reported, not thrown. */
export class ProtectionHolder {
  private holders = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly protection: ScaleInProtection,
    private readonly onError: (error: unknown) => void,
  ) {}

  acquire(): Promise<void> {
    this.holders += 1;
    return this.holders === 1 ? this.apply() : this.chain;
  }

  release(): Promise<void> {
    this.holders = Math.max(0, this.holders - 1);
    return this.holders === 0 ? this.apply() : this.chain;
  }

  private apply(): Promise<void> {
    // Serialised, and each call applies the state current when it runs: on/off races end right.
    this.chain = this.chain.then(() => this.protection.set(this.holders > 0).catch(this.onError));
    return this.chain;
  }
}

const taskMetadataSchema = z.object({ Cluster: z.string().min(1), TaskARN: z.string().min(1) });

/** The ECS adapter. Finds its own task through the container metadata endpoint (v4). */
export class EcsScaleInProtection implements ScaleInProtection {
  private task?: Promise<{ cluster: string; taskArn: string }>;

  constructor(
    private readonly client: ECSClient,
    private readonly metadataUri: string,
    /** ECS caps protection at 48 h; it lapses by itself if the worker dies holding it. */
    private readonly expiresInMinutes = 120,
  ) {}

  async set(enabled: boolean): Promise<void> {
    // A failed look-up is not kept: the next job tries again.
    const { cluster, taskArn } = await (this.task ??= this.lookUpTask().catch((error: unknown) => {
      this.task = undefined;
      throw error;
    }));
    await this.client.send(
      new UpdateTaskProtectionCommand({
        cluster,
        tasks: [taskArn],
        protectionEnabled: enabled,
        ...(enabled ? { expiresInMinutes: this.expiresInMinutes } : {}),
      }),
    );
  }

  private async lookUpTask(): Promise<{ cluster: string; taskArn: string }> {
    const response = await fetch(`${this.metadataUri}/task`);
    if (!response.ok) throw new Error(`task metadata answered ${response.status}`);
    const metadata = taskMetadataSchema.parse(await response.json());
    return { cluster: metadata.Cluster, taskArn: metadata.TaskARN };
  }
}

/** The ECS adapter when running on ECS (ECS_CONTAINER_METADATA_URI_V4 is set), else none. */
export function scaleInProtectionFromEnv(env: Readonly<Record<string, string | undefined>>): ScaleInProtection {
  const uri = env.ECS_CONTAINER_METADATA_URI_V4;
  return uri ? new EcsScaleInProtection(new ECSClient({}), uri) : noScaleInProtection;
}

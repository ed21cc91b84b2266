import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  MessageNotInflight,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  parseBody,
  StaleReceiptError,
  type JobQueue,
  type JsonValue,
  type QueueDepth,
  type QueueMessage,
  type ReceiveMessageOptions,
  type SendMessageOptions,
} from '../../ports/job-queue';

export interface SqsJobQueueOptions {
  client: SQSClient;
  queueUrl: string;
}

/** Redrive to the DLQ is the queue's RedrivePolicy (CDK), so nothing here handles it. */
export class SqsJobQueue implements JobQueue {
  private readonly client: SQSClient;
  private readonly queueUrl: string;

  constructor(options: SqsJobQueueOptions) {
    this.client = options.client;
    this.queueUrl = options.queueUrl;
  }

  async send(body: JsonValue, options: SendMessageOptions = {}): Promise<{ messageId: string }> {
    const output = await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(body),
        DelaySeconds: options.delaySeconds,
      }),
    );
    if (!output.MessageId) throw new Error('SQS SendMessage returned no MessageId');
    return { messageId: output.MessageId };
  }

  async receive(options: ReceiveMessageOptions = {}): Promise<QueueMessage[]> {
    if (options.signal?.aborted) return [];
    try {
      const output = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: options.maxMessages ?? 1,
          WaitTimeSeconds: options.waitSeconds ?? 0,
          VisibilityTimeout: options.visibilityTimeoutSeconds,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
        { abortSignal: options.signal },
      );
      return (output.Messages ?? []).flatMap((message) =>
        message.MessageId && message.ReceiptHandle
          ? [
              {
                id: message.MessageId,
                body: parseBody(message.Body ?? ''),
                receiptHandle: message.ReceiptHandle,
                receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? '1'),
              },
            ]
          : [],
      );
    } catch (error) {
      // An aborted long poll is a normal shutdown, not a failure.
      if (options.signal?.aborted) return [];
      throw error;
    }
  }

  async changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): Promise<void> {
    try {
      await this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: visibilityTimeoutSeconds,
        }),
      );
    } catch (error) {
      if (error instanceof MessageNotInflight || error instanceof ReceiptHandleIsInvalid) throw new StaleReceiptError();
      throw error;
    }
  }

  async delete(receiptHandle: string): Promise<void> {
    try {
      await this.client.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle }));
    } catch (error) {
      // Deleting is idempotent for callers: a handle from an earlier receive is not an error.
      if (error instanceof ReceiptHandleIsInvalid) return;
      throw error;
    }
  }

  async approximateDepth(): Promise<QueueDepth> {
    const output = await this.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.queueUrl,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    const attributes = output.Attributes ?? {};
    return {
      visible: Number(attributes.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
      delayed: Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0),
    };
  }
}

import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  MessageNotInflight,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SqsJobQueue } from '../../../src/adapters/aws/sqs-job-queue';
import { StaleReceiptError } from '../../../src/ports/job-queue';

const sqs = mockClient(SQSClient);
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/untxt-jobs';

function queue(): SqsJobQueue {
  return new SqsJobQueue({ client: new SQSClient({ region: 'us-east-1' }), queueUrl: QUEUE_URL });
}

describe('the SQS job queue', () => {
  beforeEach(() => {
    sqs.reset();
  });

  it('sends the body as JSON with the delay asked for', async () => {
    // Prepare
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm1' });

    // Act
    const result = await queue().send({ taskId: 't1' }, { delaySeconds: 10 });

    // Assess
    expect(result).toEqual({ messageId: 'm1' });
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: QUEUE_URL, MessageBody: '{"taskId":"t1"}', DelaySeconds: 10 });
  });

  it('long-polls and hands back parsed bodies with their receive counts', async () => {
    // Prepare
    sqs.on(ReceiveMessageCommand).resolves({
      Messages: [
        { MessageId: 'm1', ReceiptHandle: 'r1', Body: '{"taskId":"t1"}', Attributes: { ApproximateReceiveCount: '3' } },
        { MessageId: 'm2', ReceiptHandle: 'r2', Body: 'not json' },
      ],
    });

    // Act
    const messages = await queue().receive({ maxMessages: 10, waitSeconds: 20, visibilityTimeoutSeconds: 60 });

    // Assess
    expect(sqs).toHaveReceivedCommandWith(ReceiveMessageCommand, {
      QueueUrl: QUEUE_URL,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 20,
      VisibilityTimeout: 60,
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    });
    expect(messages).toEqual([
      { id: 'm1', body: { taskId: 't1' }, receiptHandle: 'r1', receiveCount: 3 },
      { id: 'm2', body: 'not json', receiptHandle: 'r2', receiveCount: 1 },
    ]);
  });

  it('returns nothing from a long poll that was aborted', async () => {
    // Prepare
    const controller = new AbortController();
    sqs.on(ReceiveMessageCommand).callsFake(async () => {
      controller.abort();
      throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    });

    // Act
    const messages = await queue().receive({ waitSeconds: 20, signal: controller.signal });

    // Assess
    expect(messages).toEqual([]);
  });

  it('reports a receipt that is no longer in flight as stale', async () => {
    // Prepare
    sqs.on(ChangeMessageVisibilityCommand).rejects(new MessageNotInflight({ message: 'not in flight', $metadata: {} }));

    // Act
    const changing = queue().changeVisibility('r1', 30);

    // Assess
    await expect(changing).rejects.toBeInstanceOf(StaleReceiptError);
  });

  it('treats deleting with an outdated receipt as done', async () => {
    // Prepare
    sqs.on(DeleteMessageCommand).rejects(new ReceiptHandleIsInvalid({ message: 'invalid', $metadata: {} }));

    // Act
    const deleting = queue().delete('r-old');

    // Assess
    await expect(deleting).resolves.toBeUndefined();
  });

  it('reads visible, in-flight and delayed counts as the approximate depth', async () => {
    // Prepare
    sqs.on(GetQueueAttributesCommand).resolves({
      Attributes: { ApproximateNumberOfMessages: '4', ApproximateNumberOfMessagesNotVisible: '2', ApproximateNumberOfMessagesDelayed: '1' },
    });

    // Act
    const depth = await queue().approximateDepth();

    // Assess
    expect(depth).toEqual({ visible: 4, inFlight: 2, delayed: 1 });
  });
});

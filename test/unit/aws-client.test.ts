// The AWS client's rate limits, retries and failure reporting, with an injected clock (no wall
// clock anywhere: every wait is a number the fake clock adds up) and a fake SDK transport.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import {
  CreateLoadBalancerCommand,
  DescribeTagsCommand,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { pino } from 'pino';
import {
  type AwsCallEvent,
  AwsClient,
  apiName,
  backoffDelay,
  DEFAULT_RETRY,
} from '../../src/providers/aws/client.ts';
import { AwsCallError, describeAwsError, userFailureReason } from '../../src/providers/aws/errors.ts';
import { type Clock, RateLimiter, rateClassOf, TokenBucket } from '../../src/providers/aws/rate-limit.ts';

/** Time moves only when someone sleeps. */
function fakeClock(): Clock & { sleeps: number[]; elapsed: () => number } {
  let now = 0;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    sleeps,
    elapsed: () => now,
  };
}

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

function sdkError(
  code: string,
  status: number,
  requestId?: string,
  extra: Record<string, unknown> = {},
): Error {
  return Object.assign(new Error(`${code} happened`), {
    name: code,
    Code: code,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, ...(requestId ? { requestId } : {}) },
    ...extra,
  });
}

function networkError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('token bucket', () => {
  test('a burst goes at once, then callers queue at the sustained rate', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ perSecond: 2, burst: 3 }, clock.now);
    assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0]);
    // Queued: each next caller waits half a second longer.
    assert.equal(bucket.reserve(), 500);
    assert.equal(bucket.reserve(), 1000);
    assert.equal(bucket.available(), -2);
  });

  test('tokens come back with time, never above the burst', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ perSecond: 4, burst: 2 }, clock.now);
    bucket.reserve();
    bucket.reserve();
    await clock.sleep(250);
    assert.equal(bucket.available(), 1);
    await clock.sleep(10_000);
    assert.equal(bucket.available(), 2);
  });

  test('a throttling answer drains what was saved up', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ perSecond: 5, burst: 20 }, clock.now);
    bucket.drain();
    assert.equal(bucket.reserve(), 200);
  });

  test('a nonsense limit is refused', () => {
    assert.throws(() => new TokenBucket({ perSecond: 0, burst: 1 }, () => 0), /perSecond > 0/);
  });
});

describe('rate classes', () => {
  test('ELBv2 as aws-load-balancer-controller; EC2 reads and writes', () => {
    assert.equal(rateClassOf('elbv2', 'DescribeTags'), 'elbv2:describe');
    assert.equal(rateClassOf('elbv2', 'RegisterTargets'), 'elbv2:targets');
    assert.equal(rateClassOf('elbv2', 'DeregisterTargets'), 'elbv2:targets');
    assert.equal(rateClassOf('elbv2', 'ModifyTargetGroupAttributes'), 'elbv2:modify');
    assert.equal(rateClassOf('elbv2', 'SetSecurityGroups'), 'elbv2:modify');
    assert.equal(rateClassOf('elbv2', 'CreateLoadBalancer'), 'elbv2:other');
    assert.equal(rateClassOf('ec2', 'DescribeSecurityGroups'), 'ec2:describe');
    assert.equal(rateClassOf('ec2', 'AuthorizeSecurityGroupIngress'), 'ec2:other');
  });

  test('25 RegisterTargets calls: 20 at once, the other 5 at 4 per second', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    for (let i = 0; i < 25; i++) await limiter.acquire('elbv2', 'RegisterTargets');
    // Sequential callers: each of the last five waits a quarter second after the one before.
    assert.deepEqual(clock.sleeps, [250, 250, 250, 250, 250]);
    assert.equal(clock.elapsed(), 1250);
  });

  test('the classes are separate buckets, and overrides apply', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock, { 'elbv2:modify': { perSecond: 1, burst: 1 } });
    await limiter.acquire('elbv2', 'ModifyListener');
    await limiter.acquire('elbv2', 'DescribeListeners');
    assert.equal(clock.elapsed(), 0);
    await limiter.acquire('elbv2', 'SetSubnets');
    assert.equal(clock.elapsed(), 1000);
  });
});

describe('failure classification', () => {
  test('throttling, transient and the rest', () => {
    assert.equal(describeAwsError(sdkError('Throttling', 400)).kind, 'throttled');
    assert.equal(describeAwsError(sdkError('ThrottlingException', 400)).kind, 'throttled');
    assert.equal(describeAwsError(sdkError('RequestLimitExceeded', 503)).kind, 'throttled');
    assert.equal(describeAwsError(sdkError('Whatever', 429)).kind, 'throttled');
    assert.equal(describeAwsError(sdkError('InternalFailure', 500)).kind, 'transient');
    assert.equal(describeAwsError(sdkError('Unknown', 502)).kind, 'transient');
    assert.equal(describeAwsError(networkError('ECONNRESET', 'socket hang up')).kind, 'transient');
    assert.equal(
      describeAwsError(
        Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }),
      ).kind,
      'transient',
    );
    assert.equal(describeAwsError(sdkError('ValidationError', 400)).kind, 'fatal');
    assert.equal(describeAwsError('a string').kind, 'fatal');
  });

  test('request ID and Retry-After are read', () => {
    const failure = describeAwsError(
      sdkError('SlowDown', 503, 'req-9', { $response: { statusCode: 503, headers: { 'retry-after': '3' } } }),
    );
    assert.equal(failure.requestId, 'req-9');
    assert.equal(failure.retryAfterSeconds, 3);
  });

  test('reasons for the user', () => {
    assert.equal(userFailureReason('CertificateNotFoundException'), 'CertificateNotFound');
    assert.equal(userFailureReason('TooManyLoadBalancers'), 'QuotaExceeded');
    assert.equal(userFailureReason('RulesPerSecurityGroupLimitExceeded'), 'QuotaExceeded');
    assert.equal(userFailureReason('ValidationError'), 'InvalidConfiguration');
    assert.equal(userFailureReason('InvalidConfigurationRequest'), 'InvalidConfiguration');
    assert.equal(userFailureReason('DuplicateLoadBalancerName'), 'NameConflict');
    assert.equal(userFailureReason('AccessDenied'), 'AccessDenied');
    assert.equal(userFailureReason('UnauthorizedOperation'), 'AccessDenied');
    assert.equal(userFailureReason('SomethingNew'), 'AwsError');
  });
});

describe('backoff', () => {
  test('full jitter below a doubling ceiling, capped', () => {
    const policy = { maxAttempts: 8, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffDelay(policy, 1, 0.5), 50);
    assert.equal(backoffDelay(policy, 2, 0.5), 100);
    assert.equal(backoffDelay(policy, 3, 0.999), 399);
    assert.equal(backoffDelay(policy, 10, 0.5), 500);
    // Retry-After wins over a shorter jittered wait, within the cap.
    assert.equal(backoffDelay(policy, 1, 0.5, 2), 1000);
    assert.equal(backoffDelay(DEFAULT_RETRY, 1, 0, 1), 1000);
  });
});

describe('AwsClient', () => {
  function client(send: (command: object) => Promise<unknown>, options: { maxAttempts?: number } = {}) {
    const clock = fakeClock();
    const { logger, lines } = capturingLogger();
    const events: AwsCallEvent[] = [];
    const aws = new AwsClient({
      region: 'us-east-1',
      logger,
      clock,
      random: () => 0.5,
      retry: {
        baseDelayMs: 100,
        maxDelayMs: 10_000,
        ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
      },
      onCall: (e) => events.push(e),
      send: async (_service, command) => send(command),
    });
    return { aws, clock, lines, events };
  }

  test('the API name comes from the command class', () => {
    assert.equal(apiName(new DescribeTagsCommand({ ResourceArns: [] })), 'DescribeTags');
  });

  test('throttled twice, then success: backoff between, metrics per attempt', async () => {
    let calls = 0;
    const { aws, clock, events } = client(async () => {
      calls++;
      if (calls <= 2) throw sdkError('Throttling', 400, `req-${calls}`);
      return { TagDescriptions: [], $metadata: {} };
    });
    const out = await aws.elbv2(new DescribeTagsCommand({ ResourceArns: ['arn:x'] }));
    assert.deepEqual(out.TagDescriptions, []);
    assert.equal(calls, 3);
    // Backoff 50 then 100 ms: half (the fixed random) of the ceilings 100 and 200.
    assert.deepEqual(
      events.map((e) => [e.api, e.outcome, e.attempt]),
      [
        ['DescribeTags', 'throttled', 1],
        ['DescribeTags', 'throttled', 2],
        ['DescribeTags', 'success', 3],
      ],
    );
    assert.ok(clock.sleeps.includes(50) && clock.sleeps.includes(100), `sleeps ${clock.sleeps}`);
  });

  test('a refused request is not retried; the request ID is in the error and the log', async () => {
    let calls = 0;
    const { aws, lines } = client(async () => {
      calls++;
      throw sdkError('ValidationError', 400, 'req-validation');
    });
    await assert.rejects(
      aws.elbv2(new CreateLoadBalancerCommand({ Name: 'x' })),
      (error: unknown) =>
        error instanceof AwsCallError &&
        error.code === 'ValidationError' &&
        error.attempts === 1 &&
        /request ID req-validation/.test(error.message),
    );
    assert.equal(calls, 1);
    const failure = lines.find((l) => l.api === 'CreateLoadBalancer' && l.code === 'ValidationError');
    assert.equal(failure?.requestId, 'req-validation');
  });

  test('attempts are bounded', async () => {
    let calls = 0;
    const { aws, lines } = client(
      async () => {
        calls++;
        throw sdkError('InternalFailure', 500, `req-${calls}`);
      },
      { maxAttempts: 4 },
    );
    await assert.rejects(
      aws.ec2(new DescribeInstancesCommand({})),
      (e: unknown) => e instanceof AwsCallError && e.attempts === 4,
    );
    assert.equal(calls, 4);
    // Every failed attempt is logged with its own request ID.
    assert.deepEqual(
      lines.filter((l) => l.api === 'DescribeInstances').map((l) => l.requestId),
      ['req-1', 'req-2', 'req-3', 'req-4'],
    );
  });

  test('a lost create is looked up before it is sent again', async () => {
    let calls = 0;
    let lookups = 0;
    const { aws } = client(async () => {
      calls++;
      throw networkError('ECONNRESET', 'socket hang up');
    });
    const out = await aws.elbv2(new CreateLoadBalancerCommand({ Name: 'lb' }), {
      lookup: async () => {
        lookups++;
        return { LoadBalancers: [{ LoadBalancerArn: 'arn:found' }], $metadata: {} };
      },
    });
    assert.equal(out.LoadBalancers?.[0]?.LoadBalancerArn, 'arn:found');
    assert.equal(calls, 1);
    assert.equal(lookups, 1);
  });

  test('the lookup finding nothing means send again', async () => {
    let calls = 0;
    const { aws } = client(async () => {
      calls++;
      if (calls === 1) throw sdkError('InternalFailure', 500, 'req-1');
      return { LoadBalancers: [{ LoadBalancerArn: 'arn:new' }], $metadata: {} };
    });
    const out = await aws.elbv2(new CreateLoadBalancerCommand({ Name: 'lb' }), {
      lookup: async () => undefined,
    });
    assert.equal(out.LoadBalancers?.[0]?.LoadBalancerArn, 'arn:new');
    assert.equal(calls, 2);
  });

  test('a throttled create never reached AWS: no lookup', async () => {
    let calls = 0;
    let lookups = 0;
    const { aws } = client(async () => {
      calls++;
      if (calls === 1) throw sdkError('Throttling', 400, 'req-1');
      return { LoadBalancers: [], $metadata: {} };
    });
    await aws.elbv2(new CreateLoadBalancerCommand({ Name: 'lb' }), {
      lookup: async () => {
        lookups++;
        return undefined;
      },
    });
    assert.equal(lookups, 0);
  });

  test('throttling slows the whole class down (the bucket is drained)', async () => {
    let calls = 0;
    const { aws, clock } = client(async () => {
      calls++;
      if (calls === 1) throw sdkError('Throttling', 400, 'req-1');
      return { $metadata: {} };
    });
    await aws.elbv2(new RegisterTargetsCommand({ TargetGroupArn: 'arn:tg', Targets: [] }));
    const before = clock.elapsed();
    await aws.elbv2(new RegisterTargetsCommand({ TargetGroupArn: 'arn:tg', Targets: [] }));
    // 4 per second: the next call waits for a token instead of using the burst.
    assert.equal(clock.elapsed() - before, 250);
  });

  test('a failing metrics hook does not fail the call', async () => {
    const clock = fakeClock();
    const { logger } = capturingLogger();
    const aws = new AwsClient({
      region: 'us-east-1',
      logger,
      clock,
      onCall: () => {
        throw new Error('boom');
      },
      send: async () => ({ $metadata: {} }),
    });
    await aws.elbv2(new DescribeTagsCommand({ ResourceArns: [] }));
  });
});

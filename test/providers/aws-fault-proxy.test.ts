// The fault proxy itself, in front of a tiny loopback upstream that counts what reaches it: the same
// seed draws the same faults; a dropped response was acted on upstream but never answered; the
// throttling answer has each AWS API's shape; counters say what happened; only loopback targets.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startFaultProxy } from '../harness/fault-proxy.ts';

let upstream: Server;
let target = '';
let received = 0;

before(async () => {
  upstream = createServer((request, response) => {
    received++;
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', () => resolve()));
  const address = upstream.address();
  target = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

after(async () => {
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

/** A signed-looking AWS query request (the proxy reads the service from the credential scope). */
async function awsCall(
  url: string,
  service: string,
  action: string,
): Promise<{ status: number; body: string } | 'lost'> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=x`,
      },
      body: `Action=${action}&Version=2015-12-01`,
    });
    return { status: response.status, body: await response.text() };
  } catch {
    return 'lost';
  }
}

async function outcomes(seed: number, n: number): Promise<string[]> {
  const proxy = await startFaultProxy({
    target,
    seed,
    faults: { throttleRate: 0.3, serverErrorRate: 0.2, dropRate: 0.2 },
  });
  const seen: string[] = [];
  for (let i = 0; i < n; i++) {
    const answer = await awsCall(proxy.url, 'elasticloadbalancing', 'DescribeTags');
    seen.push(answer === 'lost' ? 'lost' : String(answer.status));
  }
  await proxy.stop();
  return seen;
}

describe('fault proxy', () => {
  test('the same seed draws the same faults; another seed others', async () => {
    const first = await outcomes(42, 40);
    assert.deepEqual(await outcomes(42, 40), first);
    assert.notDeepEqual(await outcomes(43, 40), first);
    for (const kind of ['200', '400', '500', 'lost']) assert.ok(first.includes(kind), `${kind} in ${first}`);
  });

  test('a dropped response reached the upstream; throttling and errors did not', async () => {
    const proxy = await startFaultProxy({ target, faults: { dropRate: 1 } });
    const before = received;
    assert.equal(await awsCall(proxy.url, 'elasticloadbalancing', 'CreateLoadBalancer'), 'lost');
    assert.equal(received, before + 1);
    proxy.setFaults({ throttleRate: 1 });
    await awsCall(proxy.url, 'elasticloadbalancing', 'CreateLoadBalancer');
    proxy.setFaults({ serverErrorRate: 1 });
    await awsCall(proxy.url, 'elasticloadbalancing', 'CreateLoadBalancer');
    assert.equal(received, before + 1);
    proxy.setFaults({ serverErrorRate: 1, serverErrorAfterForward: true });
    const afterForward = await awsCall(proxy.url, 'elasticloadbalancing', 'CreateLoadBalancer');
    assert.equal(afterForward === 'lost' ? 0 : afterForward.status, 500);
    assert.equal(received, before + 2);
    assert.deepEqual(
      { ...proxy.counters, byAction: undefined, faultsByAction: undefined },
      {
        requests: 4,
        forwarded: 2,
        throttled: 1,
        serverErrors: 2,
        dropped: 1,
        delayed: 0,
        mutating: 2,
        byAction: undefined,
        faultsByAction: undefined,
      },
    );
    assert.deepEqual(proxy.counters.faultsByAction, {
      'CreateLoadBalancer drop': 1,
      'CreateLoadBalancer throttle': 1,
      'CreateLoadBalancer server-error': 2,
    });
    await proxy.stop();
  });

  test("throttling answers in each API's shape", async () => {
    const proxy = await startFaultProxy({ target, faults: { throttleRate: 1 } });
    const elb = await awsCall(proxy.url, 'elasticloadbalancing', 'DescribeLoadBalancers');
    assert.notEqual(elb, 'lost');
    if (elb !== 'lost') {
      assert.equal(elb.status, 400);
      assert.match(
        elb.body,
        /<ErrorResponse[^>]*><Error><Type>Sender<\/Type><Code>Throttling<\/Code><Message>Rate exceeded<\/Message>/,
      );
      assert.match(elb.body, /<RequestId>fault-proxy-\d+-\d+<\/RequestId>/);
    }
    const ec2 = await awsCall(proxy.url, 'ec2', 'DescribeInstances');
    assert.notEqual(ec2, 'lost');
    if (ec2 !== 'lost') {
      assert.equal(ec2.status, 503);
      assert.match(ec2.body, /<Response><Errors><Error><Code>RequestLimitExceeded<\/Code>/);
    }
    await proxy.stop();
    // Other clouds bring their own answer.
    const custom = await startFaultProxy({
      target,
      faults: { throttleRate: 1 },
      throttleResponse: () => ({
        status: 429,
        headers: { 'retry-after': '2' },
        body: '{"error":{"code":429}}',
      }),
    });
    const response = await fetch(`${custom.url}/compute/v1/projects/p/global/forwardingRules`);
    assert.equal(response.status, 429);
    assert.equal(response.headers.get('retry-after'), '2');
    assert.equal(await response.text(), '{"error":{"code":429}}');
    assert.equal(
      custom.counters.faultsByAction['GET /compute/v1/projects/p/global/forwardingRules throttle'],
      1,
    );
    await custom.stop();
  });

  test('added latency, only where the faults apply', async () => {
    const proxy = await startFaultProxy({
      target,
      faults: { latencyMs: 20, applies: (request) => request.action === 'DescribeTags' },
    });
    await awsCall(proxy.url, 'elasticloadbalancing', 'DescribeTags');
    await awsCall(proxy.url, 'elasticloadbalancing', 'DescribeListeners');
    assert.equal(proxy.counters.delayed, 1);
    assert.deepEqual(proxy.counters.byAction, { DescribeTags: 1, DescribeListeners: 1 });
    assert.equal(proxy.counters.mutating, 0);
    await proxy.stop();
  });

  test('only loopback targets', async () => {
    await assert.rejects(startFaultProxy({ target: 'http://192.0.2.1:80' }), /not on loopback/);
  });
});

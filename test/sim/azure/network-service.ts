// ARM's semantics for the modelled Network resources, independent of HTTP. Reads render stored records. A
// PUT or DELETE is checked (preconditions, references, limits), takes effect at once with provisioningState
// Updating/Deleting, and is finished later by settle() when its operation is due; a newer write to the same
// resource cancels the operation in progress ("canceled and superseded"). A write to a child (a security
// rule, a backend pool) is a write of its parent with that child changed. Every method is synchronous, so a
// request's check-and-commit is atomic with respect to every other request.

import { randomUUID } from 'node:crypto';
import type { AddressRange, Family } from './addresses.ts';
import {
  type ArmError,
  anotherOperationInProgress,
  childNotFound,
  invalidRequestContent,
  invalidResourceName,
  isArmError,
  methodNotAllowed,
  notModelled,
  operationCanceled,
  operationNotFound,
  parentResourceNotFound,
  preconditionFailed,
  publicIpCannotBeDeleted,
  resourceAlreadyExists,
  resourceGroupNotFound,
  resourceNotFound,
  securityGroupInUse,
  subscriptionNotFound,
} from './arm-errors.ts';
import {
  type ChildType,
  idKey,
  isValidResourceName,
  NETWORK,
  normalizeLocation,
  operationKind,
  resourceId,
  type TopLevelType,
  WRITABLE_CHILD_TYPES,
} from './arm-ids.ts';
import type { Faults } from './faults.ts';
import {
  arrayAt,
  isJsonObject,
  type JsonObject,
  type JsonValue,
  objectAt,
  referenceIdAt,
  stringAt,
} from './json.ts';
import { prepareLoadBalancer, renderLoadBalancer } from './load-balancer.ts';
import type { OperationBook, OperationRecord } from './operations.ts';
import { preparePublicIp, renderPublicIp } from './public-ip.ts';
import { type PreparedWrite, storedChild, type WriteContext, withChild } from './resource-common.ts';
import { prepareSecurityGroup, renderSecurityGroup } from './security-group.ts';
import type { Settings } from './settings.ts';
import { cloneRecord, newEtag, type ResourceRecord, type SimStore } from './store.ts';
import { renderVirtualNetwork } from './virtual-network.ts';

export interface ServiceResponse {
  status: number;
  body?: JsonValue;
  headers?: Record<string, string>;
}

export interface ResourceAddress {
  subscriptionId: string;
  resourceGroup: string;
  type: TopLevelType;
  name: string;
  child?: { type: ChildType; name: string };
}

export interface Preconditions {
  ifMatch?: string;
  ifNoneMatch?: string;
}

export interface ServiceDeps {
  store: SimStore;
  operations: OperationBook;
  faults: Faults;
  settings: () => Settings;
  /** https://127.0.0.1:PORT, the base of the operation URLs handed out. */
  endpoint: () => string;
  publicRanges: Record<Family, AddressRange[]>;
}

/** The resource a request addresses, as it stands. */
interface Located {
  id: string;
  resourceGroup: string;
  existing: ResourceRecord | undefined;
  active: OperationRecord | undefined;
}

/** What a write does: which operation it starts and how it answers. */
interface WritePlan {
  method: 'PUT' | 'DELETE';
  kind: string;
  resourceType: string;
  targetId: string;
  /** 200/201 with the rendered target for PUT; 202 without body for DELETE. */
  status: number;
  child?: { type: ChildType; name: string };
}

export class NetworkService {
  readonly #deps: ServiceDeps;

  constructor(deps: ServiceDeps) {
    this.#deps = deps;
  }

  // --- reads ----------------------------------------------------------------------------------------------

  render(record: ResourceRecord): JsonObject {
    const { store } = this.#deps;
    switch (record.type) {
      case 'loadBalancers':
        return renderLoadBalancer(record);
      case 'publicIPAddresses':
        return renderPublicIp(store, record);
      case 'networkSecurityGroups':
        return renderSecurityGroup(store, record);
      case 'virtualNetworks':
        return renderVirtualNetwork(store, record);
    }
  }

  get(address: ResourceAddress): ServiceResponse | ArmError {
    const missing = this.#checkGroup(address);
    if (missing) return missing;
    const record = this.#deps.store.get(
      resourceId(address.subscriptionId, address.resourceGroup, address.type, address.name),
    );
    if (!record) return resourceNotFound(address.type, address.name, address.resourceGroup);
    if (!address.child) return { status: 200, body: this.render(record) };
    const child = this.#renderedChild(record, address.child.type, address.child.name);
    return child
      ? { status: 200, body: child }
      : childNotFound(`${record.id}/${address.child.type}/${address.child.name}`);
  }

  /** Every resource of a type in a subscription (or one of its groups), rendered, in ID order. */
  list(
    subscriptionId: string,
    type: TopLevelType,
    resourceGroup: string | undefined,
  ): JsonObject[] | ArmError {
    const { store } = this.#deps;
    if (!store.subscription(subscriptionId)) return subscriptionNotFound(subscriptionId);
    if (resourceGroup === undefined) return store.list({ subscriptionId, type }).map((r) => this.render(r));
    if (!store.resourceGroup(subscriptionId, resourceGroup)) return resourceGroupNotFound(resourceGroup);
    return store.list({ subscriptionId, resourceGroup, type }).map((r) => this.render(r));
  }

  listChildren(address: Omit<ResourceAddress, 'child'>, childType: ChildType): JsonObject[] | ArmError {
    const missing = this.#checkGroup(address);
    if (missing) return missing;
    const record = this.#deps.store.get(
      resourceId(address.subscriptionId, address.resourceGroup, address.type, address.name),
    );
    if (!record) return resourceNotFound(address.type, address.name, address.resourceGroup);
    return this.#renderedChildren(record, childType);
  }

  // --- writes ---------------------------------------------------------------------------------------------

  put(
    address: ResourceAddress,
    body: JsonValue | undefined,
    conditions: Preconditions,
    apiVersion: string,
  ): ServiceResponse | ArmError {
    const missing = this.#checkGroup(address);
    if (missing) return missing;
    if (!isValidResourceName(address.name)) return invalidResourceName(address.name);
    if (address.child && !isValidResourceName(address.child.name))
      return invalidResourceName(address.child.name);
    if (address.type === 'virtualNetworks') {
      return notModelled(
        'creating or changing virtual networks and subnets (seed them through the simulator)',
      );
    }
    if (address.child && !WRITABLE_CHILD_TYPES.has(address.child.type)) return methodNotAllowed('PUT');
    if (!isJsonObject(body)) return invalidRequestContent('the body must be a JSON object');
    const at = this.#locate(address);
    if (at.existing?.provisioningState === 'Deleting' && at.active) {
      return anotherOperationInProgress(at.id, this.#operationUrl(at.active, apiVersion));
    }
    const kind = operationKind('PUT', address.type, address.child?.type);
    if (!address.child) {
      const failed = checkPreconditions(at.id, at.existing?.etag, conditions);
      if (failed) return failed;
      const plan: WritePlan = {
        method: 'PUT',
        kind,
        resourceType: address.type,
        targetId: at.id,
        status: at.existing ? 200 : 201,
      };
      return this.#write(address, at, body, plan, apiVersion);
    }
    if (!at.existing) return parentResourceNotFound(address.name);
    const collection = address.child.type;
    const current = storedChild(at.existing, collection, address.child.name);
    const name = (current && stringAt(current, 'name')) ?? address.child.name;
    const targetId = `${at.id}/${collection}/${name}`;
    const failed = checkPreconditions(targetId, current ? at.existing.etag : undefined, conditions);
    if (failed) return failed;
    const input = withChild(at.existing, collection, name, { ...body, name });
    const plan: WritePlan = {
      method: 'PUT',
      kind,
      resourceType: `${address.type}/${collection}`,
      targetId,
      status: current ? 200 : 201,
      child: { type: collection, name },
    };
    return this.#write(address, at, input, plan, apiVersion);
  }

  delete(
    address: ResourceAddress,
    conditions: Preconditions,
    apiVersion: string,
  ): ServiceResponse | ArmError {
    const missing = this.#checkGroup(address);
    if (missing) return missing;
    if (address.type === 'virtualNetworks') return notModelled('deleting virtual networks and subnets');
    if (address.child && !WRITABLE_CHILD_TYPES.has(address.child.type)) return methodNotAllowed('DELETE');
    const at = this.#locate(address);
    const deleting = at.existing?.provisioningState === 'Deleting' ? at.active : undefined;

    if (address.child) {
      const collection = address.child.type;
      const current = at.existing ? storedChild(at.existing, collection, address.child.name) : undefined;
      const name = (current && stringAt(current, 'name')) ?? address.child.name;
      const targetId = `${at.id}/${collection}/${name}`;
      const failed = checkPreconditions(targetId, current ? at.existing?.etag : undefined, conditions);
      if (failed) return failed;
      if (!at.existing || !current) return { status: 204 };
      if (deleting) return anotherOperationInProgress(at.id, this.#operationUrl(deleting, apiVersion));
      const input = withChild(at.existing, collection, name, undefined);
      const kind = operationKind('DELETE', address.type, collection);
      const plan: WritePlan = {
        method: 'DELETE',
        kind,
        resourceType: `${address.type}/${collection}`,
        targetId,
        status: 202,
      };
      return this.#write(address, at, input, plan, apiVersion);
    }

    const failed = checkPreconditions(at.id, at.existing?.etag, conditions);
    if (failed) return failed;
    if (!at.existing) return { status: 204 };
    if (deleting) return { status: 202, headers: this.#asyncHeaders(deleting, apiVersion) };
    const inUse = this.#inUse(at.existing);
    if (inUse) return inUse;
    return this.#startDelete(address, at.existing, at.active, apiVersion);
  }

  /** updateTags: synchronous, like ARM's PATCH of tags on Network resources. */
  patch(
    address: ResourceAddress,
    body: JsonValue | undefined,
    conditions: Preconditions,
    apiVersion: string,
  ): ServiceResponse | ArmError {
    const missing = this.#checkGroup(address);
    if (missing) return missing;
    if (address.child) return methodNotAllowed('PATCH');
    const { existing: record, active } = this.#locate(address);
    if (!record) return resourceNotFound(address.type, address.name, address.resourceGroup);
    const failed = checkPreconditions(record.id, record.etag, conditions);
    if (failed) return failed;
    if (!isJsonObject(body)) return invalidRequestContent('the body must be a JSON object');
    const keys = Object.keys(body);
    if (keys.some((k) => k !== 'tags'))
      return notModelled(`PATCH of anything but tags (got ${keys.join(', ')})`);
    const tags = body.tags;
    if (!isJsonObject(tags) || !Object.values(tags).every((v) => typeof v === 'string')) {
      return invalidRequestContent('tags must be an object of strings');
    }
    if (record.provisioningState === 'Deleting' && active) {
      return anotherOperationInProgress(record.id, this.#operationUrl(active, apiVersion));
    }
    record.body.tags = tags;
    record.etag = newEtag();
    this.#deps.store.touched();
    return { status: 200, body: this.render(record) };
  }

  // --- operations -----------------------------------------------------------------------------------------

  /** GET of an Azure-AsyncOperation URL (`status`) or of a Location URL (`result`). */
  operationStatus(
    subscriptionId: string,
    operationId: string,
    flavor: 'status' | 'result',
    apiVersion: string,
  ): ServiceResponse | ArmError {
    const op = this.#deps.operations.get(operationId);
    if (!op || op.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase())
      return operationNotFound(operationId);
    const retry = this.#deps.settings().pollRetryAfterSeconds;
    const retryHeaders: Record<string, string> =
      retry > 0 && op.status === 'InProgress' ? { 'Retry-After': String(retry) } : {};
    if (flavor === 'status') {
      const body: JsonObject = { status: op.status };
      if (op.error)
        body.error = {
          code: op.error.code,
          message: op.error.message,
          details: op.error.details.map((d) => ({ ...d })),
        };
      return { status: 200, body, headers: retryHeaders };
    }
    if (op.status === 'InProgress') {
      return {
        status: 202,
        headers: { ...retryHeaders, Location: this.#operationUrl(op, apiVersion, 'operationResults') },
      };
    }
    if (op.error) return op.error;
    const record = op.completion === 'provision' ? this.#deps.store.get(op.resourceId) : undefined;
    return record ? { status: 200, body: this.render(record) } : { status: 204 };
  }

  /** Finishes every operation that is due; `everything` finishes all in progress, held or not. */
  settle(now: number, everything = false): void {
    if (this.#deps.settings().holdOperations && !everything) return;
    for (const op of this.#deps.operations.due(now, everything)) this.#finish(op, now);
  }

  #finish(op: OperationRecord, now: number): void {
    const { store, operations } = this.#deps;
    const record = store.get(op.resourceId);
    if (op.deferredError) {
      // A problem found while provisioning: the write is undone.
      if (op.before) store.put({ ...cloneRecord(op.before), etag: newEtag() });
      else store.remove(op.resourceId);
      this.#bumpPublicIps(record, op.before);
      operations.finish(op, 'Failed', now, op.deferredError);
    } else if (record && op.injectedFailure) {
      // A provisioning failure: the resource keeps the new goal state, in state Failed, until written again.
      record.provisioningState = 'Failed';
      record.creating = false;
      record.etag = newEtag();
      store.touched();
      operations.finish(op, 'Failed', now, op.injectedFailure);
    } else if (record && op.completion === 'remove') {
      store.remove(record.id);
      this.#bumpPublicIps(record, undefined);
      operations.finish(op, 'Succeeded', now);
    } else {
      if (record) {
        record.provisioningState = 'Succeeded';
        record.creating = false;
        record.etag = newEtag();
        store.touched();
      }
      operations.finish(op, 'Succeeded', now);
    }
  }

  // --- helpers --------------------------------------------------------------------------------------------

  #checkGroup(address: { subscriptionId: string; resourceGroup: string }): ArmError | undefined {
    const { store } = this.#deps;
    if (!store.subscription(address.subscriptionId)) return subscriptionNotFound(address.subscriptionId);
    if (!store.resourceGroup(address.subscriptionId, address.resourceGroup))
      return resourceGroupNotFound(address.resourceGroup);
    return undefined;
  }

  /** Call after #checkGroup. */
  #locate(address: ResourceAddress): Located {
    const { store, operations } = this.#deps;
    const group =
      store.resourceGroup(address.subscriptionId, address.resourceGroup)?.name ?? address.resourceGroup;
    const existing = store.get(resourceId(address.subscriptionId, group, address.type, address.name));
    const id = existing?.id ?? resourceId(address.subscriptionId, group, address.type, address.name);
    return { id, resourceGroup: existing?.resourceGroup ?? group, existing, active: operations.active(id) };
  }

  #renderedChildren(record: ResourceRecord, child: ChildType): JsonObject[] {
    const properties = objectAt(this.render(record), 'properties') ?? {};
    return (arrayAt(properties, child) ?? []).filter(isJsonObject);
  }

  #renderedChild(record: ResourceRecord, child: ChildType, name: string): JsonObject | undefined {
    return this.#renderedChildren(record, child).find(
      (c) => stringAt(c, 'name')?.toLowerCase() === name.toLowerCase(),
    );
  }

  #prepare(type: TopLevelType, input: JsonObject, ctx: WriteContext): PreparedWrite | ArmError {
    switch (type) {
      case 'loadBalancers':
        return prepareLoadBalancer(input, ctx);
      case 'publicIPAddresses':
        return preparePublicIp(input, ctx);
      case 'networkSecurityGroups':
        return prepareSecurityGroup(input, ctx);
      case 'virtualNetworks':
        return notModelled('writing virtual networks');
    }
  }

  /** Why ARM refuses to delete this resource: a public IP a frontend uses, a security group a subnet uses. */
  #inUse(record: ResourceRecord): ArmError | undefined {
    const usage = this.#deps.store.usage();
    if (record.type === 'publicIPAddresses') {
      const user = usage.publicIpUsers.get(idKey(record.id));
      if (user) return publicIpCannotBeDeleted(record.id, user);
    }
    if (record.type === 'networkSecurityGroups') {
      const subnets = usage.securityGroupSubnets.get(idKey(record.id)) ?? [];
      if (subnets.length > 0) return securityGroupInUse(record.id, subnets.join(', '));
    }
    return undefined;
  }

  #injected(subscriptionId: string, method: string, resourceType: string): { injectedFailure?: ArmError } {
    const failure = this.#deps.faults.takeOperationFailure({ subscriptionId, method, resourceType });
    return failure ? { injectedFailure: failure } : {};
  }

  /** Cancels the operation in progress on a resource, as superseded by `by`. */
  #supersede(active: OperationRecord | undefined, by: OperationRecord, now: number): void {
    if (!active) return;
    this.#deps.operations.finish(
      active,
      'Canceled',
      now,
      operationCanceled(active.kind, active.id, by.kind, by.id),
    );
  }

  /**
   * Validates `input` as the resource's new PUT body, stores it (provisioning state Updating) and starts the
   * operation that will finish it, superseding the one in progress.
   */
  #write(
    address: ResourceAddress,
    at: Located,
    input: JsonObject,
    plan: WritePlan,
    apiVersion: string,
  ): ServiceResponse | ArmError {
    const { store, operations, settings } = this.#deps;
    const ctx: WriteContext = {
      store,
      limits: settings().limits,
      subscriptionId: address.subscriptionId,
      resourceGroup: at.resourceGroup,
      name: at.existing?.name ?? address.name,
      id: at.id,
      existing: at.existing,
      publicRanges: this.#deps.publicRanges,
    };
    const prepared = this.#prepare(address.type, input, ctx);
    if (isArmError(prepared)) return prepared;
    const now = Date.now();
    const record: ResourceRecord = {
      type: address.type,
      id: at.id,
      subscriptionId: at.existing?.subscriptionId ?? address.subscriptionId,
      resourceGroup: at.resourceGroup,
      name: ctx.name,
      location: prepared.location,
      body: prepared.body,
      etag: newEtag(),
      resourceGuid: at.existing?.resourceGuid ?? randomUUID(),
      provisioningState: 'Updating',
      lastOperationKind: plan.kind,
      creating: at.existing === undefined || at.existing.creating,
    };
    store.put(record);
    if (record.type === 'loadBalancers') this.#bumpPublicIps(at.existing, record);
    const op = operations.start(
      {
        kind: plan.kind,
        method: plan.method,
        completion: 'provision',
        subscriptionId: record.subscriptionId,
        location: normalizeLocation(record.location),
        resourceId: record.id,
        targetId: plan.targetId,
        resourceType: plan.resourceType,
        // Superseding a write in progress also discards it: what a failure restores is the state before that one.
        before: at.active ? at.active.before : at.existing ? cloneRecord(at.existing) : undefined,
        ...(prepared.deferredError ? { deferredError: prepared.deferredError } : {}),
        ...this.#injected(address.subscriptionId, plan.method, plan.resourceType),
      },
      now,
      settings().provisioningDelayMs,
    );
    this.#supersede(at.active, op, now);
    const headers = this.#asyncHeaders(op, apiVersion);
    if (plan.method === 'DELETE') return { status: plan.status, headers };
    const body = plan.child
      ? this.#renderedChild(record, plan.child.type, plan.child.name)
      : this.render(record);
    return { status: plan.status, body: body ?? {}, headers };
  }

  #startDelete(
    address: ResourceAddress,
    existing: ResourceRecord,
    active: OperationRecord | undefined,
    apiVersion: string,
  ): ServiceResponse {
    const { store, operations, settings } = this.#deps;
    const kind = operationKind('DELETE', address.type);
    const now = Date.now();
    const op = operations.start(
      {
        kind,
        method: 'DELETE',
        completion: 'remove',
        subscriptionId: existing.subscriptionId,
        location: normalizeLocation(existing.location),
        resourceId: existing.id,
        targetId: existing.id,
        resourceType: address.type,
        before: active?.before ?? cloneRecord(existing),
        ...this.#injected(address.subscriptionId, 'DELETE', address.type),
      },
      now,
      settings().provisioningDelayMs,
    );
    this.#supersede(active, op, now);
    existing.provisioningState = 'Deleting';
    existing.lastOperationKind = kind;
    existing.etag = newEtag();
    store.touched();
    return { status: 202, headers: this.#asyncHeaders(op, apiVersion) };
  }

  /**
   * A public IP's representation includes the frontend that uses it, so ARM gives it a new ETag whenever a
   * load balancer starts or stops using it (the "ETag contamination" cloud-provider-azure works around).
   */
  #bumpPublicIps(before: ResourceRecord | undefined, after: ResourceRecord | undefined): void {
    const ips = (r: ResourceRecord | undefined) => {
      const out = new Set<string>();
      if (r?.type !== 'loadBalancers') return out;
      for (const fe of arrayAt(objectAt(r.body, 'properties') ?? {}, 'frontendIPConfigurations') ?? []) {
        const pip = isJsonObject(fe)
          ? referenceIdAt(objectAt(fe, 'properties') ?? {}, 'publicIPAddress')
          : undefined;
        if (pip) out.add(idKey(pip));
      }
      return out;
    };
    const a = ips(before);
    const b = ips(after);
    for (const key of new Set([...a, ...b])) {
      if (a.has(key) && b.has(key)) continue;
      const pip = this.#deps.store.get(key);
      if (pip) pip.etag = newEtag();
    }
  }

  #operationUrl(
    op: OperationRecord,
    apiVersion: string,
    flavor: 'operations' | 'operationResults' = 'operations',
  ): string {
    return (
      `${this.#deps.endpoint()}/subscriptions/${op.subscriptionId}/providers/${NETWORK}/locations/${op.location}/` +
      `${flavor}/${op.id}?api-version=${encodeURIComponent(apiVersion)}`
    );
  }

  #asyncHeaders(op: OperationRecord, apiVersion: string): Record<string, string> {
    return {
      'Azure-AsyncOperation': this.#operationUrl(op, apiVersion),
      Location: this.#operationUrl(op, apiVersion, 'operationResults'),
    };
  }
}

/** If-Match (an ETag, or * for "exists") and If-None-Match (* for "does not exist"). */
export function checkPreconditions(
  id: string,
  currentEtag: string | undefined,
  conditions: Preconditions,
): ArmError | undefined {
  const { ifMatch, ifNoneMatch } = conditions;
  if (ifMatch !== undefined) {
    if (currentEtag === undefined) return preconditionFailed(id, ifMatch, undefined);
    if (ifMatch.trim() !== '*' && !etagMatches(ifMatch, currentEtag))
      return preconditionFailed(id, ifMatch, currentEtag);
  }
  if (ifNoneMatch !== undefined && currentEtag !== undefined) {
    if (ifNoneMatch.trim() === '*' || etagMatches(ifNoneMatch, currentEtag))
      return resourceAlreadyExists(id, currentEtag);
  }
  return undefined;
}

/** ARM compares ETags weakly: W/"x" and "x" are the same tag. A header may list several. */
function etagMatches(header: string, current: string): boolean {
  const strip = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => strip(tag) === strip(current));
}

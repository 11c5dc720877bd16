// ARM errors as values: the HTTP status, and the `{ error: { code, message, details } }` body Azure Resource
// Manager and the Network resource provider send. Codes and messages follow the ones Azure users have
// published (issue trackers, Microsoft's troubleshooting pages); where no public text was found the code is
// the simulator's own and is marked `sim:` in the README's table.

export interface ArmErrorDetail {
  code: string;
  message: string;
}

export interface ArmError {
  readonly armError: true;
  status: number;
  code: string;
  message: string;
  details: ArmErrorDetail[];
  /** Seconds, for 429/503. */
  retryAfterSeconds?: number;
}

export function armError(
  status: number,
  code: string,
  message: string,
  details: ArmErrorDetail[] = [],
): ArmError {
  return { armError: true, status, code, message, details };
}

export function isArmError(value: unknown): value is ArmError {
  return typeof value === 'object' && value !== null && 'armError' in value;
}

export function errorBody(error: Pick<ArmError, 'code' | 'message' | 'details'>): {
  error: { code: string; message: string; details: ArmErrorDetail[] };
} {
  return { error: { code: error.code, message: error.message, details: error.details } };
}

// --- request and routing -------------------------------------------------------------------------------

export const missingApiVersion = (): ArmError =>
  armError(
    400,
    'MissingApiVersionParameter',
    'The api-version query parameter (?api-version=) is required for all requests.',
  );

export const invalidApiVersion = (value: string): ArmError =>
  armError(
    400,
    'InvalidApiVersionParameter',
    `The api-version '${value}' is invalid. The supported versions are dates such as '2025-05-01'.`,
  );

export const authorizationMissing = (): ArmError =>
  armError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");

export const invalidAuthenticationToken = (why: string): ArmError =>
  armError(401, 'InvalidAuthenticationToken', `The access token is invalid: ${why}.`);

export const subscriptionNotFound = (subscriptionId: string): ArmError =>
  armError(404, 'SubscriptionNotFound', `The subscription '${subscriptionId}' could not be found.`);

export const resourceGroupNotFound = (resourceGroup: string): ArmError =>
  armError(404, 'ResourceGroupNotFound', `Resource group '${resourceGroup}' could not be found.`);

export const resourceNotFound = (type: string, name: string, resourceGroup: string): ArmError =>
  armError(
    404,
    'ResourceNotFound',
    `The Resource 'Microsoft.Network/${type}/${name}' under resource group '${resourceGroup}' was not found. ` +
      'For more details please go to https://aka.ms/ARMResourceNotFoundFix',
  );

export const childNotFound = (id: string): ArmError => armError(404, 'NotFound', `Resource ${id} not found.`);

export const parentResourceNotFound = (name: string): ArmError =>
  armError(
    404,
    'ParentResourceNotFound',
    `Can not perform requested operation on nested resource. Parent resource '${name}' not found.`,
  );

export const operationNotFound = (operationId: string): ArmError =>
  armError(404, 'NotFound', `Operation ${operationId} was not found.`);

export const notModelled = (what: string): ArmError =>
  armError(501, 'SimulatorNotImplemented', `The ARM simulator does not model ${what}.`);

export const methodNotAllowed = (method: string): ArmError =>
  armError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);

export const invalidRequestContent = (why: string): ArmError =>
  armError(
    400,
    'InvalidRequestContent',
    `The request content was invalid and could not be deserialized: '${why}'.`,
  );

export const requestTooLarge = (limit: number): ArmError =>
  armError(413, 'RequestEntityTooLarge', `The request content size exceeds the maximum of ${limit} bytes.`);

/** Network RP's answer to a malformed body: a generic top level and the specifics in details. */
export const invalidRequestFormat = (details: ArmErrorDetail[]): ArmError =>
  armError(400, 'InvalidRequestFormat', 'Cannot parse the request.', details);

export const invalidProperty = (path: string, why: string): ArmError =>
  invalidRequestFormat([{ code: 'InvalidJsonPropertyValue', message: `Value of property ${path} ${why}.` }]);

export const missingProperty = (path: string): ArmError =>
  invalidRequestFormat([{ code: 'MissingJsonProperty', message: `Value for property ${path} is missing.` }]);

export const missingReferenceId = (path: string): ArmError =>
  invalidRequestFormat([
    { code: 'MissingJsonReferenceId', message: `Value for reference id is missing. Path ${path}.` },
  ]);

export const locationRequired = (): ArmError =>
  armError(400, 'LocationRequired', 'The location property is required for this definition.');

export const invalidResourceLocation = (
  name: string,
  existing: string,
  requested: string,
  rg: string,
): ArmError =>
  armError(
    409,
    'InvalidResourceLocation',
    `The resource '${name}' already exists in location '${existing}' in resource group '${rg}'. ` +
      `A resource with the same name cannot be created in location '${requested}'. ` +
      'Please select a new resource name.',
  );

export const invalidResourceName = (name: string): ArmError =>
  armError(
    400,
    'InvalidResourceName',
    `Resource name ${name} is invalid. The name can be up to 80 characters long. It must begin with a word ` +
      "character, and it must end with a word character or with '_'. The name may contain word characters " +
      "or '.', '-', '_'.",
  );

export const duplicateChildName = (parentId: string, collection: string, name: string): ArmError =>
  armError(
    400,
    'DuplicateResourceName',
    `Resource ${parentId} has two child resources in ${collection} with the same name (${name}).`,
  );

// --- concurrency ----------------------------------------------------------------------------------------

export const preconditionFailed = (id: string, sent: string, current: string | undefined): ArmError =>
  armError(
    412,
    'PreconditionFailed',
    current === undefined
      ? `Precondition failed: If-Match ${sent} was sent but resource ${id} does not exist.`
      : `Precondition failed: the ETag ${sent} in If-Match does not match the current ETag ${current} of ` +
          `resource ${id}.`,
  );

export const resourceAlreadyExists = (id: string, current: string): ArmError =>
  armError(
    412,
    'PreconditionFailed',
    `Precondition failed: If-None-Match: * was sent but resource ${id} exists with ETag ${current}.`,
  );

export const anotherOperationInProgress = (id: string, operationUrl: string): ArmError =>
  armError(
    409,
    'AnotherOperationInProgress',
    `Another operation on this or dependent resource is in progress. To retrieve status of the operation ` +
      `use uri: ${operationUrl}. Resource: ${id}.`,
  );

export const referencedResourceNotProvisioned = (
  referencedId: string,
  byId: string,
  state: string,
  lastOperation: string,
): ArmError =>
  armError(
    400,
    'ReferencedResourceNotProvisioned',
    `Cannot proceed with operation because resource ${referencedId} used by resource ${byId} is not in ` +
      `Succeeded state. Resource is in ${state} state and the last operation that updated/is updating the ` +
      `resource is ${lastOperation}.`,
  );

// --- throttling and injected faults ----------------------------------------------------------------------

export function throttled(subscriptionId: string, kind: string, retryAfterSeconds: number): ArmError {
  const error = armError(
    429,
    'SubscriptionRequestsThrottled',
    `Number of '${kind}' requests for subscription '${subscriptionId}' exceeded. Please try again after ` +
      `'${retryAfterSeconds}' seconds after additional tokens are replenished.`,
  );
  error.retryAfterSeconds = retryAfterSeconds;
  return error;
}

const FAULT_CODES: Record<number, [string, string]> = {
  429: ['SubscriptionRequestsThrottled', 'The request was throttled (fault injected by the ARM simulator).'],
  500: ['InternalServerError', 'Encountered internal server error (fault injected by the ARM simulator).'],
  502: ['BadGateway', 'The gateway did not receive a response (fault injected by the ARM simulator).'],
  503: ['ServiceUnavailable', 'The service is unavailable (fault injected by the ARM simulator).'],
  504: [
    'GatewayTimeout',
    'The gateway did not receive a response in time (fault injected by the ARM simulator).',
  ],
};

export function injectedFault(
  status: number,
  code?: string,
  message?: string,
  retryAfterSeconds?: number,
): ArmError {
  const [defaultCode, defaultMessage] = FAULT_CODES[status] ?? [
    'InjectedFault',
    'Fault injected by the ARM simulator.',
  ];
  const error = armError(status, code ?? defaultCode, message ?? defaultMessage);
  if (retryAfterSeconds !== undefined) error.retryAfterSeconds = retryAfterSeconds;
  return error;
}

// --- references and frontends ----------------------------------------------------------------------------

export const invalidResourceReference = (referencedId: string, byId: string): ArmError =>
  armError(
    400,
    'InvalidResourceReference',
    `Resource ${referencedId} referenced by resource ${byId} was not found. Please make sure that the ` +
      'referenced resource exists, and that both resources are in the same region.',
  );

export const frontendHasBothSubnetAndPublicIp = (frontendId: string): ArmError =>
  armError(
    400,
    'FrontendIPConfigHasBothSubnetAndPublicIP',
    `Frontend IP Configuration ${frontendId} must not reference both a Subnet and a Public IP Address.`,
  );

export const frontendHasNoSubnetOrPublicIp = (frontendId: string): ArmError =>
  armError(
    400,
    'FrontendIPConfigHasNoSubnetOrPublicIP',
    `Frontend IP Configuration ${frontendId} must reference either a Subnet or a Public IP Address.`,
  );

export const publicIpAddressInUse = (pipId: string, usedBy: string, byId: string): ArmError =>
  armError(
    400,
    'PublicIPAddressInUse',
    `Resource ${byId} is referencing public IP address ${pipId} that is already allocated to resource ${usedBy}.`,
  );

export const publicAndPrivateFrontends = (lbId: string): ArmError =>
  armError(
    400,
    'LoadBalancerCannotHaveBothPublicAndPrivateFrontendIPConfigurations',
    `Load balancer ${lbId} cannot have both public frontend IP configurations (public IP address) and ` +
      'private ones (subnet). Use one load balancer for each.',
  );

export const withoutFrontendCantHaveChildren = (lbId: string): ArmError =>
  armError(
    400,
    'LoadBalancerWithoutFrontendIPCantHaveChildResources',
    `Load balancer ${lbId} has no frontend IP configurations, so it can't have child resources ` +
      '(backend pools, rules, probes). Add a frontend IP configuration, or delete the load balancer.',
  );

export const basicSkuNotAvailable = (what: string, id: string): ArmError =>
  armError(
    400,
    'SkuNotAvailable',
    `${what} ${id} asks for a SKU other than Standard (Basic when no sku is given). Basic SKU was retired on ` +
      '30 September 2025; the simulator models Standard only.',
  );

export const propertyChangeNotAllowed = (id: string, property: string): ArmError =>
  armError(
    400,
    'PropertyChangeNotAllowed',
    `Changing property '${property}' is not allowed for resource ${id}: it is set at creation time and cannot be changed.`,
  );

// --- limits ----------------------------------------------------------------------------------------------

export const frontendLimit = (limit: number): ArmError =>
  armError(
    400,
    'LoadBalancerFrontendIPConfigurationCountLimitReached',
    `A load balancer cannot have more than ${limit} FrontendIPConfigurations.`,
  );

export const ruleLimit = (limit: number, count: number): ArmError =>
  armError(
    400,
    'LoadBalancerRuleCountLimitReached',
    `A load balancer cannot have more than ${limit} rules (load balancing and inbound NAT rules combined); ` +
      `the request has ${count}.`,
  );

export const probeLimit = (limit: number): ArmError =>
  armError(
    400,
    'LoadBalancerProbeCountLimitReached',
    `A load balancer cannot have more than ${limit} probes.`,
  );

export const outboundRuleLimit = (limit: number): ArmError =>
  armError(
    400,
    'LoadBalancerOutboundRuleCountLimitReached',
    `A load balancer cannot have more than ${limit} outbound rules.`,
  );

export const backendPoolSizeLimit = (poolId: string, limit: number, count: number): ArmError =>
  armError(
    400,
    'LoadBalancerBackendAddressPoolSizeLimitReached',
    `Backend address pool ${poolId} cannot have more than ${limit} backend addresses; the request has ${count}.`,
  );

export const rulesPerBackendAddressLimit = (address: string, limit: number, count: number): ArmError =>
  armError(
    400,
    'LoadBalancerRuleCountLimitReachedForNic',
    `Backend address ${address} cannot be associated with more than ${limit} load balancing rules across ` +
      `all load balancers; the request would associate it with ${count}.`,
  );

export const securityRuleLimit = (limit: number): ArmError =>
  armError(
    400,
    'SecurityRuleCountLimitReached',
    `A security group cannot have more than ${limit} security rules.`,
  );

export const securityPrefixLimit = (nsgId: string, count: number, side: string, limit: number): ArmError =>
  armError(
    400,
    'SecurityRuleAddressesOrPortsPerSecurityGroupLimitReached',
    `Network security group ${nsgId} has ${count} ${side}AddressPrefixes. A security group cannot have more ` +
      `than ${limit} ${side}AddressPrefixes as per the limit MaxSecurityRuleAddressesOrPortsPerSecurityGroup.`,
  );

export const publicIpCountLimit = (limit: number, location: string): ArmError =>
  armError(
    400,
    'PublicIPCountLimitReached',
    `Cannot create more than ${limit} public IP addresses for this subscription in this region (${location}).`,
  );

// --- rules and probes ------------------------------------------------------------------------------------

export const duplicateFrontendPort = (
  ruleId: string,
  otherId: string,
  port: number,
  protocol: string,
): ArmError =>
  armError(
    400,
    'LoadBalancingRulesUseSameFrontendIPConfigurationProtocolAndPort',
    `Load balancing rules ${ruleId} and ${otherId} use the same frontend IP configuration, protocol ` +
      `(${protocol}) and frontend port (${port}).`,
  );

export const duplicateBackendPort = (
  ruleId: string,
  otherId: string,
  port: number,
  protocol: string,
): ArmError =>
  armError(
    400,
    'RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig',
    `Load balancing rules ${ruleId} and ${otherId} with floating IP disabled use the same backend port ` +
      `(${port}) and protocol (${protocol}) on the same backend pool.`,
  );

export const haPortsOnPublicFrontend = (ruleId: string): ArmError =>
  armError(
    400,
    'HighAvailabilityPortsRuleOnlyAllowedOnInternalLoadBalancer',
    `Load balancing rule ${ruleId} uses protocol All with port 0 (HA ports), which is only allowed on an ` +
      'internal frontend (a subnet, not a public IP address).',
  );

// --- addresses -------------------------------------------------------------------------------------------

export const privateIpNotInSubnet = (ip: string, prefix: string): ArmError =>
  armError(
    400,
    'PrivateIPAddressNotInSubnet',
    `Private static IP address ${ip} does not belong to the range of subnet prefix ${prefix}.`,
  );

export const privateIpInReservedRange = (ip: string, prefix: string): ArmError =>
  armError(
    400,
    'PrivateIPAddressInReservedRange',
    `Private static IP address ${ip} falls within the reserved IP range of subnet prefix ${prefix} ` +
      '(Azure reserves the first four addresses and the last address of each subnet).',
  );

export const privateIpInUse = (ip: string, usedBy: string, byId: string): ArmError =>
  armError(
    400,
    'PrivateIPAddressInUse',
    `IP configuration ${byId} is using the private IP address ${ip} which is already allocated to resource ${usedBy}.`,
  );

export const samePrivateIpTwice = (byId: string, otherId: string, ip: string): ArmError =>
  armError(
    400,
    'MultipleIpConfigsRequestSamePrivateIpAddress',
    `IP configuration ${byId} is requesting the same private IP address ${ip} as IP Configurations ${otherId}. ` +
      `Private IP address ${ip} from the subnet can be assigned to only one IP configuration.`,
  );

export const subnetIsFull = (subnetId: string, prefix: string): ArmError =>
  armError(
    400,
    'SubnetIsFull',
    `Subnet ${subnetId} with address prefix ${prefix} does not have enough capacity for 1 IP addresses.`,
  );

export const noPrefixForVersion = (subnetId: string, version: string, byId: string): ArmError =>
  armError(
    400,
    'PrivateIPAddressVersionNotSupportedBySubnet',
    `IP configuration ${byId} asks for an ${version} private address but subnet ${subnetId} has no ${version} prefix.`,
  );

export const backendAddressOutsideVnet = (address: string, vnetId: string, byId: string): ArmError =>
  armError(
    400,
    'LoadBalancerBackendAddressIpAddressNotInVirtualNetwork',
    `Backend address ${byId} has IP address ${address}, which is not in the address space of virtual network ${vnetId}.`,
  );

export const backendPoolSpansVnets = (poolId: string): ArmError =>
  armError(
    400,
    'LoadBalancerBackendAddressPoolAddressesInMultipleVirtualNetworks',
    `Backend address pool ${poolId} has addresses in more than one virtual network; an IP-based pool takes ` +
      'addresses from a single virtual network.',
  );

export const duplicateBackendAddress = (poolId: string, address: string): ArmError =>
  armError(
    400,
    'DuplicateBackendAddressInBackendAddressPool',
    `Backend address pool ${poolId} lists IP address ${address} more than once.`,
  );

// --- public IP addresses ---------------------------------------------------------------------------------

export const standardPublicIpMustBeStatic = (pipId: string): ArmError =>
  armError(
    400,
    'StandardSkuPublicIPAddressesMustBeStatic',
    `Standard sku publicIp ${pipId} must have AllocationMethod set to Static.`,
  );

export const basicPublicIpCountLimit = (): ArmError =>
  armError(
    400,
    'IPv4BasicSkuPublicIpCountLimitReached',
    'Cannot create more than 0 IPv4 Basic SKU public IP addresses for this subscription in this region.',
  );

export const invalidDomainNameLabel = (label: string): ArmError =>
  armError(
    400,
    'InvalidDomainNameLabel',
    `The domain name label ${label} is invalid. It must conform to the following regular expression: ` +
      '^[a-z][a-z0-9-]{1,61}[a-z0-9]$.',
  );

export const dnsRecordInUse = (fqdn: string): ArmError =>
  armError(400, 'DnsRecordInUse', `DNS record ${fqdn} is already used by another public IP.`);

export const publicIpCannotBeDeleted = (pipId: string, usedBy: string): ArmError =>
  armError(
    400,
    'PublicIPAddressCannotBeDeleted',
    `Public IP address ${pipId} can not be deleted since it is still allocated to resource ${usedBy}. In order ` +
      'to delete the public IP, disassociate/detach the Public IP address from the resource.  To learn how to ' +
      'do this, see aka.ms/deletepublicip.',
  );

// --- security rules --------------------------------------------------------------------------------------

export const securityRuleConflict = (a: string, b: string): ArmError =>
  armError(
    400,
    'SecurityRuleConflict',
    `Security rule ${a} conflicts with rule ${b}. Rules cannot have the same Priority and Direction. To learn ` +
      'more, see aka.ms/nsgrules.',
  );

export const securityRuleInvalidPriority = (ruleId: string, priority: number): ArmError =>
  armError(
    400,
    'SecurityRuleInvalidPriority',
    `Security rule ${ruleId} has invalid Priority. Value provided: ${priority} Allowed range 100-4096.`,
  );

export const securityRuleInvalidAddressPrefix = (ruleId: string, value: string): ArmError =>
  armError(
    400,
    'SecurityRuleInvalidAddressPrefix',
    `Security rule ${ruleId} has invalid Address prefix. Value provided: ${value}`,
  );

export const securityRuleInvalidPortRange = (ruleId: string, value: string): ArmError =>
  armError(
    400,
    'SecurityRuleInvalidPortRange',
    `Security rule ${ruleId} has invalid Port range. Value provided: ${value}. Value should be an integer OR ` +
      'integer range with "-" delimiter. Valid range 0-65535.',
  );

export const securityRuleUnsupportedValue = (ruleId: string, parameter: string, value: string): ArmError =>
  armError(
    400,
    'SecurityRuleParameterContainsUnsupportedValue',
    `Security rule parameter ${parameter} for rule with Id ${ruleId} cannot specify existing VIRTUALNETWORK, ` +
      `INTERNET, AZURELOADBALANCER, '*' or system tags. Unsupported value used: ${value}.`,
  );

export const securityGroupInUse = (nsgId: string, subnetId: string): ArmError =>
  armError(
    400,
    'InUseNetworkSecurityGroupCannotBeDeleted',
    `Network security group ${nsgId} cannot be deleted because it is in use by the following resources: ${subnetId}. ` +
      'In order to delete the Network security group, remove the association with the resource(s).',
  );

// --- long-running operations -----------------------------------------------------------------------------

export const operationCanceled = (kind: string, id: string, byKind: string, byId: string): ArmError =>
  armError(409, 'Canceled', 'Operation was canceled.', [
    {
      code: 'CanceledAndSupersededDueToAnotherOperation',
      message: `Operation ${kind} (${id}) was canceled and superseded by operation ${byKind} (${byId}).`,
    },
  ]);

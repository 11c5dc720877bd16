// Seeds a simulated AWS account (moto) with what an EKS-style cluster has before Sluice runs:
// a VPC, public and private subnets tagged for load balancers, a node security group tagged for
// the cluster, instances for the nodes, and ACM certificates. Talks to moto through the real SDK.
import { ACMClient, RequestCertificateCommand } from '@aws-sdk/client-acm';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';

export const TEST_REGION = 'us-east-1';
/** moto accepts any credentials; these never leave loopback. */
export const TEST_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** For processes that read the standard AWS variables (a Sluice controller under test). */
export function awsTestEnv(): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_REGION: TEST_REGION,
    // Never read a developer's ~/.aws or an instance profile while testing.
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

export interface SeededAccount {
  vpcId: string;
  vpcCidr: string;
  publicSubnets: string[];
  privateSubnets: string[];
  nodeSecurityGroup: string;
  /** Instances by node name, with the providerID their Node should carry. */
  instances: Array<{ nodeName: string; instanceId: string; providerID: string; privateIp: string }>;
  certificates: string[];
}

export interface SeedOptions {
  endpoint: string;
  cluster: string;
  nodeNames: string[];
  certificates?: number;
}

export function ec2Client(endpoint: string): EC2Client {
  return new EC2Client({ endpoint, region: TEST_REGION, credentials: TEST_CREDENTIALS });
}

const ZONES = ['us-east-1a', 'us-east-1b'];

export async function seedAccount(options: SeedOptions): Promise<SeededAccount> {
  const ec2 = ec2Client(options.endpoint);
  const clusterTag = `kubernetes.io/cluster/${options.cluster}`;
  const vpcCidr = '10.20.0.0/16';
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: vpcCidr }));
  const vpcId = vpc.Vpc!.VpcId!;
  const subnet = async (cidr: string, zone: string, role: string): Promise<string> => {
    const created = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: zone }),
    );
    const id = created.Subnet!.SubnetId!;
    await ec2.send(
      new CreateTagsCommand({
        Resources: [id],
        Tags: [
          { Key: role, Value: '1' },
          { Key: clusterTag, Value: 'shared' },
          { Key: 'Name', Value: `${role.endsWith('internal-elb') ? 'private' : 'public'}-${zone}` },
        ],
      }),
    );
    return id;
  };
  const publicSubnets: string[] = [];
  const privateSubnets: string[] = [];
  for (const [i, zone] of ZONES.entries()) {
    publicSubnets.push(await subnet(`10.20.${i}.0/24`, zone, 'kubernetes.io/role/elb'));
    privateSubnets.push(await subnet(`10.20.${100 + i}.0/24`, zone, 'kubernetes.io/role/internal-elb'));
  }
  const group = await ec2.send(
    new CreateSecurityGroupCommand({
      GroupName: `${options.cluster}-nodes`,
      Description: 'nodes of the test cluster',
      VpcId: vpcId,
      TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: clusterTag, Value: 'owned' }] }],
    }),
  );
  const nodeSecurityGroup = group.GroupId!;
  // A rule that is not Sluice's: it must survive everything Sluice does to this group.
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: nodeSecurityGroup,
      IpPermissions: [
        {
          IpProtocol: 'tcp',
          FromPort: 22,
          ToPort: 22,
          IpRanges: [{ CidrIp: '10.20.0.0/16', Description: 'ssh from the VPC' }],
        },
      ],
    }),
  );
  const instances: SeededAccount['instances'] = [];
  for (const [i, nodeName] of options.nodeNames.entries()) {
    const zone = ZONES[i % ZONES.length]!;
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-12c6146b',
        MinCount: 1,
        MaxCount: 1,
        InstanceType: 't3.medium',
        SubnetId: privateSubnets[i % ZONES.length],
        SecurityGroupIds: [nodeSecurityGroup],
      }),
    );
    const instance = run.Instances![0]!;
    instances.push({
      nodeName,
      instanceId: instance.InstanceId!,
      providerID: `aws:///${zone}/${instance.InstanceId!}`,
      privateIp: instance.PrivateIpAddress ?? '',
    });
  }
  const acm = new ACMClient({
    endpoint: options.endpoint,
    region: TEST_REGION,
    credentials: TEST_CREDENTIALS,
  });
  const certificates: string[] = [];
  for (let i = 0; i < (options.certificates ?? 2); i++) {
    const cert = await acm.send(
      new RequestCertificateCommand({ DomainName: `www${i}.example.com`, ValidationMethod: 'DNS' }),
    );
    certificates.push(cert.CertificateArn!);
  }
  return { vpcId, vpcCidr, publicSubnets, privateSubnets, nodeSecurityGroup, instances, certificates };
}

/** Another instance, for a node added later. */
export async function addInstance(
  endpoint: string,
  account: SeededAccount,
  nodeName: string,
): Promise<SeededAccount['instances'][number]> {
  const ec2 = ec2Client(endpoint);
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      MinCount: 1,
      MaxCount: 1,
      InstanceType: 't3.medium',
      SubnetId: account.privateSubnets[0],
      SecurityGroupIds: [account.nodeSecurityGroup],
    }),
  );
  const instance = run.Instances![0]!;
  const added = {
    nodeName,
    instanceId: instance.InstanceId!,
    providerID: `aws:///${ZONES[0]}/${instance.InstanceId!}`,
    privateIp: instance.PrivateIpAddress ?? '',
  };
  account.instances.push(added);
  return added;
}

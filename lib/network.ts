import type { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface NetworkProps {
  readonly logKey: kms.IKey;
  readonly logRetentionDays: number;
  readonly logRemovalPolicy: RemovalPolicy;
}

/**
 * Interface endpoints for what runs in the VPC (DESIGN "Where things run"): handlers read secrets,
 * send to queues and the bus and write logs; the GPU worker pulls images and talks to ECS. KMS is
 * absent on purpose: no function in the VPC calls KMS itself (S3, SQS, Secrets Manager and
 * DynamoDB decrypt server-side).
 */
const INTERFACE_ENDPOINTS = {
  SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  Sqs: ec2.InterfaceVpcEndpointAwsService.SQS,
  Events: ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE,
  Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
  EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
  Ecs: ec2.InterfaceVpcEndpointAwsService.ECS,
  EcsAgent: ec2.InterfaceVpcEndpointAwsService.ECS_AGENT,
  EcsTelemetry: ec2.InterfaceVpcEndpointAwsService.ECS_TELEMETRY,
} as const satisfies Record<string, ec2.InterfaceVpcEndpointAwsService>;

export type InterfaceEndpointName = keyof typeof INTERFACE_ENDPOINTS;

export const HTTPS = ec2.Port.tcp(443);

/**
 * A VPC with no route to the internet: two AZs of private isolated subnets, no NAT, no internet
 * gateway. AWS APIs are reached through gateway (S3, DynamoDB) and interface endpoints. All
 * traffic is recorded in flow logs.
 */
export class Network extends Construct {
  readonly vpc: ec2.IVpc;
  /** Where every VPC resource goes. */
  readonly subnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  readonly endpointSecurityGroup: ec2.ISecurityGroup;
  readonly flowLogGroup: logs.ILogGroup;
  readonly interfaceEndpoints: Readonly<Record<InterfaceEndpointName, ec2.InterfaceVpcEndpoint>>;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 20 }],
      restrictDefaultSecurityGroup: true,
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [this.subnets] },
        DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets: [this.subnets] },
      },
    });
    this.vpc = vpc;
    this.flowLogGroup = this.addFlowLogs(vpc, props);
    this.endpointSecurityGroup = this.newEndpointSecurityGroup(vpc);
    this.interfaceEndpoints = this.addInterfaceEndpoints(vpc);
  }

  /**
   * Lets a VPC resource whose security group has no default egress reach the interface endpoints.
   * The endpoints already admit the whole VPC CIDR; this opens the caller's side.
   */
  allowEndpointAccessFrom(resource: ec2.IConnectable): void {
    for (const sg of resource.connections.securityGroups) {
      sg.addEgressRule(
        ec2.Peer.securityGroupId(this.endpointSecurityGroup.securityGroupId),
        HTTPS,
        'HTTPS to the VPC interface endpoints',
      );
    }
  }

  private addFlowLogs(vpc: ec2.Vpc, props: NetworkProps): logs.ILogGroup {
    const logGroup = new logs.LogGroup(this, 'FlowLogs', {
      encryptionKey: props.logKey,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.logRemovalPolicy,
    });
    vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(logGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
    return logGroup;
  }

  private newEndpointSecurityGroup(vpc: ec2.Vpc): ec2.SecurityGroup {
    const sg = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc,
      description: 'VPC interface endpoints: HTTPS from inside the VPC only',
      allowAllOutbound: false,
    });
    sg.addIngressRule(ec2.Peer.ipv4(vpc.vpcCidrBlock), HTTPS, 'HTTPS from the VPC');
    return sg;
  }

  private addInterfaceEndpoints(vpc: ec2.Vpc): Record<InterfaceEndpointName, ec2.InterfaceVpcEndpoint> {
    const endpoints = {} as Record<InterfaceEndpointName, ec2.InterfaceVpcEndpoint>;
    for (const name of Object.keys(INTERFACE_ENDPOINTS) as InterfaceEndpointName[]) {
      endpoints[name] = vpc.addInterfaceEndpoint(name, {
        service: INTERFACE_ENDPOINTS[name],
        subnets: this.subnets,
        privateDnsEnabled: true,
        securityGroups: [this.endpointSecurityGroup],
        // Who may connect is the shared group's one explicit rule, not a per-endpoint default.
        open: false,
      });
    }
    return endpoints;
  }
}

import { CfnResource, Stack, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
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

/**
 * Resources that give these subnets a route out of the VPC other than the gateway endpoints. The
 * HTTPS egress to 0.0.0.0/0 of endpoint-using groups (allowGatewayEndpointsFrom) reaches only S3
 * and DynamoDB because none of these exists; with one, it would reach the internet or another
 * network, so synthesis refuses them. A NAT or internet gateway added outside the stack (console,
 * another stack) is beyond what synthesis can see.
 */
const ROUTES_OUT = [
  'AWS::EC2::NatGateway',
  'AWS::EC2::InternetGateway',
  'AWS::EC2::EgressOnlyInternetGateway',
  'AWS::EC2::VPCGatewayAttachment',
  'AWS::EC2::TransitGatewayAttachment',
  'AWS::EC2::TransitGatewayVpcAttachment',
  'AWS::NetworkManager::VpcAttachment',
  'AWS::EC2::CarrierGateway',
  'AWS::EC2::VPCPeeringConnection',
];

export const HTTPS = ec2.Port.tcp(443);

/** A literal CIDR (not the VPC's token) so security group rules can be checked at synth. */
export const VPC_CIDR = '10.40.0.0/16';

/**
 * What the VPC may do with a bucket through the S3 gateway endpoint: `read` for buckets it only
 * downloads from (e.g. a future model-weights bucket), `readWrite` for the documents bucket.
 */
export type S3EndpointAccess = 'read' | 'readWrite';

/** Object and listing actions the service's S3 adapter uses; bucket configuration is never done from the VPC. */
const S3_READ_ACTIONS = ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectAttributes', 's3:ListBucket', 's3:ListBucketVersions'];
const S3_WRITE_ACTIONS = ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:AbortMultipartUpload'];

/**
 * A VPC with no route to the internet: two AZs of private isolated subnets, no NAT, no internet
 * gateway. AWS APIs are reached through gateway (S3, DynamoDB) and interface endpoints. All
 * traffic is recorded in flow logs.
 *
 * The gateway endpoints carry policies naming this stack's buckets and tables only (added with
 * `allowS3Bucket` and `allowDynamoDbTable` once those exist), so code in the VPC cannot copy data
 * to a bucket or table of another account. Synthesis fails if a gateway endpoint was given none,
 * since an endpoint without a policy allows everything.
 */
export class Network extends Construct {
  readonly vpc: ec2.IVpc;
  /** Where every VPC resource goes. */
  readonly subnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  readonly endpointSecurityGroup: ec2.ISecurityGroup;
  readonly flowLogGroup: logs.ILogGroup;
  readonly interfaceEndpoints: Readonly<Record<InterfaceEndpointName, ec2.InterfaceVpcEndpoint>>;
  readonly s3Endpoint: ec2.GatewayVpcEndpoint;
  readonly dynamoDbEndpoint: ec2.GatewayVpcEndpoint;
  private allowedBuckets = 0;
  private allowedTables = 0;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(VPC_CIDR),
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 20 }],
      restrictDefaultSecurityGroup: true,
    });
    this.vpc = vpc;
    this.s3Endpoint = vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [this.subnets] });
    this.dynamoDbEndpoint = vpc.addGatewayEndpoint('DynamoDb', {
      service: ec2.GatewayVpcEndpointAwsService.DYNAMODB,
      subnets: [this.subnets],
    });
    this.allowEcrImageLayers();
    this.node.addValidation({
      validate: () => [
        ...(this.allowedBuckets === 0 ? ['the S3 gateway endpoint allows no bucket of this stack (call allowS3Bucket)'] : []),
        ...(this.allowedTables === 0 ? ['the DynamoDB gateway endpoint allows no table (call allowDynamoDbTable); without a policy it allows every table'] : []),
        ...this.routesOut(),
      ],
    });
    this.flowLogGroup = this.addFlowLogs(vpc, props);
    this.endpointSecurityGroup = this.newEndpointSecurityGroup(vpc);
    this.interfaceEndpoints = this.addInterfaceEndpoints(vpc);
  }

  /**
   * A security group with no outbound rule but HTTPS to the VPC endpoints (allowEndpointAccessFrom);
   * the caller adds the rest (PostgreSQL, for most). Created in the caller's scope under its id.
   */
  newEndpointClientGroup(scope: Construct, id: string, description: string): ec2.SecurityGroup {
    const securityGroup = new ec2.SecurityGroup(scope, id, { vpc: this.vpc, description, allowAllOutbound: false });
    this.allowEndpointAccessFrom(securityGroup);
    return securityGroup;
  }

  /**
   * Lets a VPC resource reach the interface endpoints: HTTPS egress from its security groups to the
   * endpoints' group, and ingress on the endpoints' group from each of them (nothing else gets in).
   */
  allowEndpointAccessFrom(resource: ec2.IConnectable): void {
    for (const sg of resource.connections.securityGroups) {
      // Both peers are security group constructs, so CDK writes each rule as a resource of its own
      // rather than inline, which would make the two groups reference each other (a cycle).
      sg.addEgressRule(this.endpointSecurityGroup, HTTPS, 'HTTPS to the VPC interface endpoints');
      this.endpointSecurityGroup.addIngressRule(sg, HTTPS, 'HTTPS from a resource allowed to use the endpoints');
      this.allowGatewayEndpointsFrom(sg);
    }
  }

  /**
   * Security groups apply to traffic through gateway endpoints too, and S3 and DynamoDB are
   * addressed by their public ranges (a managed prefix list whose id CloudFormation cannot resolve
   * without a look-up). In these isolated subnets the only routes out of the VPC are the gateway
   * endpoints' (no internet or NAT gateway), so HTTPS to anywhere reaches S3 and DynamoDB through
   * them and nothing else outside; their policies then name the buckets and tables allowed.
   */
  private allowGatewayEndpointsFrom(sg: ec2.ISecurityGroup): void {
    sg.addEgressRule(ec2.Peer.anyIpv4(), HTTPS, 'HTTPS to S3 and DynamoDB through the gateway endpoints (no other route out)');
  }

  /** A message for each resource of the stack that would give the isolated subnets a route out (ROUTES_OUT). */
  private routesOut(): string[] {
    return Stack.of(this)
      .node.findAll()
      .filter((c): c is CfnResource => CfnResource.isCfnResource(c) && ROUTES_OUT.includes(c.cfnResourceType))
      .map(
        (r) =>
          `${r.node.path} (${r.cfnResourceType}) gives the VPC a route out: the endpoint-using security groups' HTTPS egress to 0.0.0.0/0 is safe only while the gateway endpoints are the only way out`,
      );
  }

  /** Lets code in the VPC use this bucket's objects through the S3 gateway endpoint. */
  allowS3Bucket(bucket: s3.IBucket, access: S3EndpointAccess): void {
    this.allowedBuckets += 1;
    this.s3Endpoint.addToPolicy(
      new iam.PolicyStatement({
        principals: [new iam.AnyPrincipal()],
        actions: access === 'readWrite' ? [...S3_READ_ACTIONS, ...S3_WRITE_ACTIONS] : S3_READ_ACTIONS,
        resources: [bucket.bucketArn, bucket.arnForObjects('*')],
      }),
    );
  }

  /** Lets code in the VPC use this table and its indexes through the DynamoDB gateway endpoint. */
  allowDynamoDbTable(table: dynamodb.ITable): void {
    this.allowedTables += 1;
    this.dynamoDbEndpoint.addToPolicy(
      new iam.PolicyStatement({
        principals: [new iam.AnyPrincipal()],
        actions: ['dynamodb:*'],
        resources: [table.tableArn, `${table.tableArn}/index/*`],
      }),
    );
  }

  /** ECR keeps image layers in an AWS-owned bucket per region; Fargate pulls them through the S3 endpoint. */
  private allowEcrImageLayers(): void {
    const { partition, region } = Stack.of(this);
    this.s3Endpoint.addToPolicy(
      new iam.PolicyStatement({
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject'],
        resources: [`arn:${partition}:s3:::prod-${region}-starport-layer-bucket/*`],
      }),
    );
  }

  private addFlowLogs(vpc: ec2.Vpc, props: NetworkProps): logs.ILogGroup {
    const logGroup = new logs.LogGroup(this, 'FlowLogs', {
      encryptionKey: props.logKey,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.logRemovalPolicy,
    });
    const flowLog = vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(logGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
    Validations.of(flowLog).acknowledge({
      id: 'HIPAA.Security-IAMNoInlinePolicy',
      reason:
        'The delivery role of the VPC flow log: its one policy is generated by CDK, attached to that role only and limited to writing into the flow-log group.',
    });
    return logGroup;
  }

  private newEndpointSecurityGroup(vpc: ec2.Vpc): ec2.SecurityGroup {
    const sg = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc,
      description: 'VPC interface endpoints: HTTPS from allowed security groups only',
      allowAllOutbound: false,
    });
    // Ingress is added per caller by allowEndpointAccessFrom.
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

import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as networkmanager from 'aws-cdk-lib/aws-networkmanager';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Network } from '../../lib/network';

function newNetwork(): { app: App; stack: Stack; network: Network } {
  const app = new App();
  const stack = new Stack(app, 'NetworkOnly');
  const network = new Network(stack, 'Network', {
    logKey: new kms.Key(stack, 'LogKey'),
    logRetentionDays: 30,
    logRemovalPolicy: RemovalPolicy.DESTROY,
  });
  return { app, stack, network };
}

describe('the network', () => {
  it('refuses to synthesize while its gateway endpoints would allow every bucket and table', () => {
    // Prepare
    const { app, stack, network } = newNetwork();
    network.allowS3Bucket(new s3.Bucket(stack, 'Bucket'), 'read');

    // Act
    const synth = () => app.synth();

    // Assess
    expect(synth).toThrow(/DynamoDB gateway endpoint allows no table/);
  });

  it('synthesizes with its isolated subnets alone: no NAT, internet gateway or other route out', () => {
    // Prepare
    const { app, stack, network } = newNetwork();
    network.allowS3Bucket(new s3.Bucket(stack, 'Bucket'), 'read');
    network.allowDynamoDbTable(new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } }));

    // Act
    const synth = () => app.synth();

    // Assess
    expect(synth).not.toThrow();
  });

  it.each([
    ['a NAT gateway', (stack: Stack, network: Network) => new ec2.CfnNatGateway(stack, 'Nat', { subnetId: network.vpc.isolatedSubnets[0]!.subnetId, connectivityType: 'private' }), /AWS::EC2::NatGateway\) gives the VPC a route out/],
    ['an internet gateway', (stack: Stack) => new ec2.CfnInternetGateway(stack, 'Igw'), /AWS::EC2::InternetGateway\) gives the VPC a route out/],
    ['a transit gateway VPC attachment', (stack: Stack, network: Network) => new ec2.CfnTransitGatewayVpcAttachment(stack, 'TgwAttachment', { transitGatewayId: 'tgw-0123456789abcdef0', vpcId: network.vpc.vpcId, subnetIds: network.vpc.isolatedSubnets.map((s) => s.subnetId) }), /AWS::EC2::TransitGatewayVpcAttachment\) gives the VPC a route out/],
    ['a Cloud WAN VPC attachment', (stack: Stack, network: Network) => new networkmanager.CfnVpcAttachment(stack, 'CloudWan', { coreNetworkId: 'core-network-0123456789abcdef0', vpcArn: network.vpc.vpcArn, subnetArns: ['arn:aws:ec2:eu-central-1:123456789012:subnet/subnet-0123456789abcdef0'] }), /AWS::NetworkManager::VpcAttachment\) gives the VPC a route out/],
    ['a carrier gateway', (stack: Stack, network: Network) => new ec2.CfnCarrierGateway(stack, 'Carrier', { vpcId: network.vpc.vpcId }), /AWS::EC2::CarrierGateway\) gives the VPC a route out/],
  ])('refuses to synthesize once the stack holds %s, since its HTTPS egress to anywhere would then leave the VPC', (_, add, message) => {
    // Prepare
    const { app, stack, network } = newNetwork();
    network.allowS3Bucket(new s3.Bucket(stack, 'Bucket'), 'read');
    network.allowDynamoDbTable(new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } }));
    add(stack, network);

    // Act
    const synth = () => app.synth();

    // Assess
    expect(synth).toThrow(message);
  });

  it('grants a read-only bucket no write action through the S3 endpoint', () => {
    // Prepare
    const { stack, network } = newNetwork();
    network.allowDynamoDbTable(new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } }));

    // Act
    network.allowS3Bucket(new s3.Bucket(stack, 'Weights'), 'read');

    // Assess
    const endpoints = Template.fromStack(stack).findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Gateway' } });
    const s3Policy = JSON.stringify(
      Object.values(endpoints).find((e) => JSON.stringify(e).includes('s3:GetObject')),
    );
    expect(s3Policy).toContain('Weights');
    expect(s3Policy).not.toMatch(/s3:(Put|Delete|Abort)/);
  });
});

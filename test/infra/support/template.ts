import type { CfnElement, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';

export interface CfnResourceJson {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly DependsOn?: string[];
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

/** The CloudFormation logical id of a construct's default (L1) resource. */
export function logicalIdOf(stack: Stack, construct: IConstruct): string {
  const child = construct.node.defaultChild;
  if (!child) throw new Error(`${construct.node.path} has no default child`);
  return stack.getLogicalId(child as CfnElement);
}

/** The one resource with this logical id, as synthesized. */
export function resourceById(template: Template, logicalId: string): CfnResourceJson {
  const resources = template.toJSON().Resources as Record<string, CfnResourceJson>;
  const resource = resources[logicalId];
  if (!resource) throw new Error(`no resource ${logicalId}`);
  return resource;
}

/** `com.amazonaws.${AWS::Region}.<suffix>` as CDK renders it, reduced to the suffix. */
export function endpointServiceSuffix(serviceName: unknown): string {
  const parts = (serviceName as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  return String(parts[parts.length - 1]).replace(/^\./, '');
}

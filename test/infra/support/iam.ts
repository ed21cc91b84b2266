import type { Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { VPC_NETWORK_INTERFACE_ACTIONS } from '../../../lib/node-function';
import { logicalIdOf, type CfnResourceJson } from './template';

export interface StatementJson {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

export const actionsOf = (st: StatementJson): string[] => [st.Action].flat();
export const resourcesOf = (st: StatementJson): unknown[] => [st.Resource].flat();

/** Every statement of every policy attached to a role (by its logical id). */
export function roleStatements(template: Template, stack: Stack, role: IConstruct | string): StatementJson[] {
  const roleId = typeof role === 'string' ? role : logicalIdOf(stack, role);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .map((p) => (p as CfnResourceJson).Properties)
    .filter((props) => JSON.stringify(props.Roles).includes(JSON.stringify({ Ref: roleId })))
    .flatMap((props) => (props.PolicyDocument as { Statement: StatementJson[] }).Statement);
}

export function functionStatements(template: Template, stack: Stack, fn: lambda.IFunction): StatementJson[] {
  if (!fn.role) throw new Error(`${fn.node.path} has no role`);
  return roleStatements(template, stack, fn.role);
}

/** All actions a function may perform, in one sorted list. */
export function functionActions(template: Template, stack: Stack, fn: lambda.IFunction): string[] {
  return [...new Set(functionStatements(template, stack, fn).flatMap(actionsOf))].sort();
}

/** Actions that IAM cannot scope to a resource, the only ones allowed on `*`. */
export const UNSCOPABLE_ACTIONS = new Set([...VPC_NETWORK_INTERFACE_ACTIONS, 'xray:PutTraceSegments', 'xray:PutTelemetryRecords']);

/** Statements that allow `*` actions, service-wide actions (`s3:*`), or `Resource: *` for scopable actions. */
export function overlyBroadStatements(statements: readonly StatementJson[]): StatementJson[] {
  return statements.filter(
    (st) =>
      actionsOf(st).some((a) => a === '*' || a.endsWith(':*')) ||
      (resourcesOf(st).includes('*') && actionsOf(st).some((a) => !UNSCOPABLE_ACTIONS.has(a))),
  );
}

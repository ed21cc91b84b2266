import { ArnFormat, Stack, type RemovalPolicy } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

export interface ApiWafProps {
  readonly stage: apigw.Stage;
  readonly logKey: kms.IKey;
  readonly logRetentionDays: number;
  readonly logRemovalPolicy: RemovalPolicy;
  /** Requests per client IP per 5 minutes. */
  readonly rateLimit: number;
  /** Larger bodies are blocked. */
  readonly maxBodyBytes: number;
}

/** AWS managed rule groups, in evaluation order after the rate and size rules. */
export const MANAGED_RULE_GROUPS = [
  'AWSManagedRulesAmazonIpReputationList',
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
] as const;

/** The rate rule counts requests per client IP over this window, and tells a blocked client to wait as long. */
export const RATE_WINDOW_SECONDS = 300;

/** Key of the rate rule's response body in the web ACL's customResponseBodies. */
export const RATE_LIMITED_BODY_KEY = 'rate_limited';

/**
 * What a client over the rate gets: a problem document like API Gateway's own THROTTLED answer.
 * WAF sends a static body (no request id) and sets the content type itself (application/json:
 * WAF offers no problem+json), so the shape is what stays the same, not the media type.
 */
export const RATE_LIMITED_PROBLEM = {
  type: 'about:blank',
  title: 'Too Many Requests',
  status: 429,
  code: 'rate_limited',
  detail: `Too many requests from this address; try again in ${RATE_WINDOW_SECONDS / 60} minutes.`,
} as const;

/** WAF inspects this much of a body by default for API Gateway; larger limits cost extra. */
const DEFAULT_INSPECTION_KB = 16;

const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
  cloudWatchMetricsEnabled: true,
  metricName,
  sampledRequestsEnabled: true,
});

/**
 * The web ACL in front of the API stage: a rate-based rule per client IP, a body size limit,
 * and AWS managed rules (IP reputation, common exploits, known bad inputs). A client over the rate
 * gets 429 `rate_limited` with `Retry-After` (WAF's custom response, which takes precedence over
 * the gateway response); any other blocked request gets API Gateway's WAF_FILTERED response
 * (403 problem+json, `request_blocked`).
 */
export class ApiWaf extends Construct {
  readonly webAcl: wafv2.CfnWebACL;
  readonly logGroup: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: ApiWafProps) {
    super(scope, id);
    const inspectionKb = Math.ceil(props.maxBodyBytes / 1024 / 16) * 16;
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      description: 'untxt HTTP API: rate limit, body size limit, AWS managed rules',
      visibilityConfig: visibility('untxt-api'),
      customResponseBodies: {
        [RATE_LIMITED_BODY_KEY]: { contentType: 'APPLICATION_JSON', content: JSON.stringify(RATE_LIMITED_PROBLEM) },
      },
      ...(inspectionKb > DEFAULT_INSPECTION_KB
        ? { associationConfig: { requestBody: { API_GATEWAY: { defaultSizeInspectionLimit: `KB_${inspectionKb}` } } } }
        : {}),
      rules: [
        {
          name: 'RateLimitPerIp',
          priority: 0,
          action: {
            block: {
              customResponse: {
                responseCode: 429,
                customResponseBodyKey: RATE_LIMITED_BODY_KEY,
                responseHeaders: [
                  { name: 'Retry-After', value: String(RATE_WINDOW_SECONDS) },
                  { name: 'Cache-Control', value: 'no-store' },
                  { name: 'X-Content-Type-Options', value: 'nosniff' },
                ],
              },
            },
          },
          statement: { rateBasedStatement: { limit: props.rateLimit, aggregateKeyType: 'IP', evaluationWindowSec: RATE_WINDOW_SECONDS } },
          visibilityConfig: visibility('untxt-api-rate-limit'),
        },
        {
          name: 'BodySizeLimit',
          priority: 1,
          action: { block: {} },
          statement: {
            sizeConstraintStatement: {
              // A body larger than WAF inspects counts as too large, rather than passing unchecked.
              fieldToMatch: { body: { oversizeHandling: 'MATCH' } },
              comparisonOperator: 'GT',
              size: props.maxBodyBytes,
              textTransformations: [{ priority: 0, type: 'NONE' }],
            },
          },
          visibilityConfig: visibility('untxt-api-body-size'),
        },
        ...MANAGED_RULE_GROUPS.map((name, i) => managedRuleGroup(name, 2 + i)),
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
    this.logGroup = this.addLogging(props);
  }

  /**
   * WAF logs to a KMS-encrypted log group (its name must start with `aws-waf-logs-`). Header
   * values that carry credentials are redacted; bodies are never logged by WAF.
   */
  private addLogging(props: ApiWafProps): logs.ILogGroup {
    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `aws-waf-logs-${Stack.of(this).stackName}-api`,
      encryptionKey: props.logKey,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.logRemovalPolicy,
    });
    new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      // WAF wants the log group's ARN without the `:*` suffix that the Arn attribute carries.
      logDestinationConfigs: [
        Stack.of(this).formatArn({ service: 'logs', resource: 'log-group', resourceName: logGroup.logGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
      ],
      redactedFields: [{ singleHeader: { Name: 'authorization' } }, { singleHeader: { Name: 'cookie' } }],
    });
    return logGroup;
  }
}

function managedRuleGroup(name: string, priority: number): wafv2.CfnWebACL.RuleProperty {
  return {
    name,
    priority,
    overrideAction: { none: {} },
    statement: {
      managedRuleGroupStatement: {
        vendorName: 'AWS',
        name,
        // The common rule set's 8 KB body rule is replaced by BodySizeLimit, which is configurable.
        ...(name === 'AWSManagedRulesCommonRuleSet'
          ? { ruleActionOverrides: [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }] }
          : {}),
      },
    },
    visibilityConfig: visibility(`untxt-api-${name}`),
  };
}

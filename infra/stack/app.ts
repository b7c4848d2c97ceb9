/**
 * CDK entry point (cdk.json runs it with the project's Node 24). Settings come from CDK context:
 * `npx cdk deploy -c key=value ...`, or a "context" entry in cdk.json. Every key is optional.
 *
 *   stackName           stack name; also names the state machine (<stackName>-Optimizer), the audit
 *                       bus (<stackName>-audit) and the dashboard            default GenesysIndexOptimizer
 *   secretName          Secrets Manager secret for the Genesys OAuth client  default genesys-index-optimizer/oauth-client
 *   genesysRegion       Genesys region used when the secret names none (mypurecloud.ie, eu-west-1, ...)
 *   runRetentionDays    days the run bucket keeps inventory, plan and report  default 90
 *   logRetentionDays    days the function and state machine logs, and the audit event archive, are kept;
 *                       a CloudWatch Logs value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400,
 *                       545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, or 9999 = never expire)  default 90
 *   scheduleEnabled     true: the schedule starts runs                        default false
 *   scheduleExpression  EventBridge Scheduler expression                      default cron(0 3 ? * SUN *)
 *   scheduleTimezone    IANA time zone of the expression                      default UTC
 *   scheduleInput       execution input of scheduled runs, as JSON            default {}
 *                       (checked at synth like the state machine checks it: a typo fails the deploy)
 *   scheduleTarget      fleet (with orgs: a fleet run, scheduleInput being the fleet input) or
 *                       optimizer (one run; with orgs its input names the org)   default fleet with orgs, else optimizer
 *   alarmEmail          e-mail address subscribed to the notification topic   default none
 *   notificationFormat  text (e-mail) or chat (Amazon Q Developer / AWS Chatbot)   default text
 *   genesysTimeoutMs    per-request timeout of each Genesys call, in ms       default the client's (10000)
 *   genesysIndexesPath  the index endpoints' path (/api/v2/...), should Genesys' differ   default /api/v2/search/indexes
 *   genesysAnalyticsQueryPath  the latency probe's path   default /api/v2/analytics/conversations/details/query
 *   orgs                a fleet: JSON array of {"name", "wave"?, "region"? | "apiUrl"+"loginUrl"?,
 *                       "apiBudgetPerMinute"?, "input"?}; each org gets its secret <secretName>/<name>,
 *                       runs name it ("org"), and <stackName>-Fleet rolls runs out wave by wave   default none (one org)
 *   nag                 false: skip the cdk-nag AwsSolutions checks at synth  default true
 *
 * With nag on, a finding that infra/stack/nag.ts does not acknowledge stops the synth (and the deploy).
 */
import { App } from 'aws-cdk-lib';
import { applyNagChecks } from './nag.ts';
import { OptimizerStack } from './optimizer-stack.ts';
import { settingsFromContext } from './settings.ts';

const app = new App();
const settings = settingsFromContext((key) => app.node.tryGetContext(key));

new OptimizerStack(app, settings.stackName, {
  ...settings.props,
  env: { account: process.env['CDK_DEFAULT_ACCOUNT'], region: process.env['CDK_DEFAULT_REGION'] },
});
if (settings.nag) applyNagChecks(app);

app.synth();

/** CDK entry point (cdk.json runs it with the project's Node 24). Settings come from CDK context. */
import { App } from 'aws-cdk-lib';
import { OptimizerStack } from './optimizer-stack.ts';

const app = new App();
const context = (key: string): string | undefined => app.node.tryGetContext(key) ?? undefined;

new OptimizerStack(app, context('stackName') ?? 'GenesysIndexOptimizer', {
  secretName: context('secretName'),
  genesysRegion: context('genesysRegion'),
  env: { account: process.env['CDK_DEFAULT_ACCOUNT'], region: process.env['CDK_DEFAULT_REGION'] },
});

app.synth();

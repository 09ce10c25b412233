import { failoverScenario, sentinelTopology } from '../support/failover-scenario.ts';

failoverScenario(sentinelTopology);

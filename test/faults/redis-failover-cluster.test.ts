import { clusterTopology, failoverScenario } from '../support/failover-scenario.ts';

failoverScenario(clusterTopology);

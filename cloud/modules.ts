import type { ApiModule } from "./api/server.ts";
import type { CloudContext } from "./context.ts";
import { dashboardModule } from "./dashboard/module.ts";
import { fleetModule } from "./fleet/routes.ts";
import { startLendingEngine } from "./lending/engine.ts";
import { lendingRoutes } from "./lending/routes.ts";
import { startServicingJob } from "./lending/servicing-job.ts";
import { adaptRoutes } from "./models/adapt-routes.ts";
import { AdaptWorker, type AdaptWorkerOptions } from "./models/adapt-worker.ts";
import { modelApiRoutes, modelPackageRoutes } from "./models/routes.ts";
import { patrolModule } from "./patrol/routes.ts";

export interface ModuleOptions {
  /** Lending engine timer period (ms of real time). */
  lendingIntervalMs?: number;
  /** Loan servicing job period (ms of real time): month-end accrual, penalty, fees, overdue, provisioning. */
  servicingIntervalMs?: number;
  /** Where signed model packages are kept and served from (`modelsDir` in the cloud config). */
  modelsDir?: string;
  /** Herd adaptation jobs (cloud `adapt` and `instance`); mounted with `modelsDir`. */
  adapt?: Omit<AdaptWorkerOptions, "modelsDir">;
}

/** The cloud modules (lending, models, dashboard, fleet) mounted by `barnlink cloud run` and the demo. */
export function cloudModules(o: ModuleOptions = {}): {
  modules: ApiModule[];
  jobs: Array<(ctx: CloudContext) => { stop(): Promise<void> | void }>;
} {
  const adapt = o.modelsDir && o.adapt ? new AdaptWorker({ ...o.adapt, modelsDir: o.modelsDir }) : undefined;
  return {
    modules: [
      { routes: lendingRoutes },
      dashboardModule(),
      fleetModule(),
      patrolModule(),
      ...(o.modelsDir
        ? [{ routes: modelApiRoutes(o.modelsDir), publicRoutes: modelPackageRoutes(o.modelsDir) }]
        : []),
      ...(adapt ? [{ routes: adaptRoutes(adapt) }] : []),
    ],
    jobs: [
      ...(adapt ? [(ctx: CloudContext) => adapt.start(ctx)] : []),
      (ctx) => startLendingEngine(ctx, { intervalMs: o.lendingIntervalMs ?? 60_000 }),
      (ctx) => startServicingJob(ctx, o.servicingIntervalMs ?? 3_600_000),
    ],
  };
}

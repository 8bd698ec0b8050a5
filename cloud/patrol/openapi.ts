import { z } from "zod";
import type { OpenApiRoute } from "../api/openapi-route.ts";
import { ERR_PATROL_NOT_FOUND, ERR_PATROL_REVIEW } from "./errors.ts";
import { frameParams, planBody, review, robot, roundParams, trendParams } from "./routes.ts";

const anyObject = z.record(z.string(), z.unknown());
const reads = ["officer", "auditor", "admin"];
const base = "/api/v1/patrol/robots";

/** The patrol API (routes.ts; docs/patrol.md). Reads: officer or auditor; writes: officer. */
export const patrolOpenApi: OpenApiRoute[] = [
  {
    path: base,
    method: "get",
    summary: "Patrol robots with their latest round",
    roles: reads,
    response: z.array(z.object({ device: z.string(), rounds: z.array(anyObject) })),
  },
  {
    path: `${base}/{device}/rounds`,
    method: "get",
    summary: "A robot's rounds, newest first",
    roles: reads,
    params: robot,
    response: z.array(anyObject),
  },
  {
    path: `${base}/{device}/rounds/{round}`,
    method: "get",
    summary:
      "One round as an inspection report: checkpoints, checks, violations, missed checkpoints, reviews",
    roles: reads,
    params: roundParams,
    response: anyObject,
    errors: [ERR_PATROL_NOT_FOUND],
  },
  {
    path: `${base}/{device}/rounds/{round}/report.csv`,
    method: "get",
    summary: "The round's inspection report as CSV",
    roles: reads,
    params: roundParams,
    produces: "text/csv",
    response: z.string(),
    errors: [ERR_PATROL_NOT_FOUND],
  },
  {
    path: `${base}/{device}/rounds/{round}/report.pdf`,
    method: "get",
    summary: "The round's inspection report as PDF, with the frame behind each violation",
    roles: reads,
    params: roundParams,
    produces: "application/pdf",
    response: z.string(),
    errors: [ERR_PATROL_NOT_FOUND],
  },
  {
    path: `${base}/{device}/checkpoints/{checkpoint}/trend`,
    method: "get",
    summary: "One checkpoint's readings and verdicts across rounds",
    roles: reads,
    params: trendParams,
    response: anyObject,
    errors: [ERR_PATROL_NOT_FOUND],
  },
  {
    path: `${base}/{device}/frames/{sha}`,
    method: "get",
    summary: "The camera frame a robot sent, by its SHA-256 (as cited by a violation)",
    roles: reads,
    params: frameParams,
    produces: "image/jpeg",
    response: z.string(),
    errors: [ERR_PATROL_NOT_FOUND],
  },
  {
    path: `${base}/{device}/rounds/{round}/reviews`,
    method: "post",
    summary: "An operator's review of one violation: confirmed or false alarm, with a note",
    roles: ["officer"],
    params: roundParams,
    body: review,
    status: 201,
    response: z.looseObject({ checkpoint: z.string(), check: z.string(), by: z.string(), at: z.number() }),
    errors: [ERR_PATROL_NOT_FOUND, ERR_PATROL_REVIEW],
  },
  {
    path: `${base}/{device}/plan`,
    method: "post",
    summary: "Push a mission plan to a robot as a signed patrol.plan command",
    roles: ["officer"],
    params: robot,
    body: planBody,
    status: 202,
    response: z.object({ device: z.string(), plan: z.string(), sent: z.literal(true) }),
    errors: [ERR_PATROL_NOT_FOUND],
  },
];

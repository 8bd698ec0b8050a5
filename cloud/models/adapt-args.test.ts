import { describe, expect, it } from "vitest";
import { trainingArgs } from "./adapt-worker.ts";

describe("adapt job training options → model adapt flags", () => {
  it("passes every option as a flag, camelCase as kebab-case", () => {
    expect(trainingArgs({ epochs: 5, freeze: 0, patience: 2, views: 3, budgetMinutes: 7 }, 60)).toEqual([
      "--budget-minutes",
      "7",
      "--epochs",
      "5",
      "--freeze",
      "0",
      "--patience",
      "2",
      "--views",
      "3",
    ]);
  });

  it("gives training 3/4 of adapt.maxMinutes when the job sets no budget", () => {
    expect(trainingArgs({ shots: 2 }, 60)).toEqual(["--budget-minutes", "45", "--shots", "2"]);
  });
});

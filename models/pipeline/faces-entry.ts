import type { DriverDef, DriverDeps, Source, SourceContext } from "../../drivers/types.ts";
import { facesConfig } from "./config.ts";
import type { FacesSource, FacesStatus } from "./driver.ts";

type FacesConfig = ReturnType<typeof facesConfig.parse>;

/**
 * The registry's entry for the faces driver. TensorFlow.js and the model load only when a faces
 * source starts: a gateway without cameras never pays their ~100 MB.
 */
export class LazyFacesSource implements Source {
  readonly name: string;
  private inner?: FacesSource;
  constructor(
    private readonly config: FacesConfig,
    private readonly deps?: DriverDeps,
  ) {
    this.name = config.name;
  }
  private async load(): Promise<FacesSource> {
    if (!this.inner) {
      const { facesDriver } = await import("./driver.ts");
      this.inner = facesDriver.create(this.config, this.deps) as FacesSource;
    }
    return this.inner;
  }
  async start(ctx: SourceContext): Promise<void> {
    await (await this.load()).start(ctx);
  }
  async stop(): Promise<void> {
    await this.inner?.stop();
  }
  status(): FacesStatus | undefined {
    return this.inner?.status();
  }
  /** After a model rollout: load the new current model. */
  async reloadModel(): Promise<string | null> {
    return this.inner ? this.inner.reloadModel() : null;
  }
}

export const facesDriverEntry: DriverDef<typeof facesConfig> = {
  name: "faces",
  description: "Pig-face identification on a camera: sightings, unknown-pig alarms, census by faces",
  configSchema: facesConfig,
  needsJit: true,
  create: (config, deps) => new LazyFacesSource(config, deps),
};

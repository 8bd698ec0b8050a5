/**
 * The faces driver lives with the models it runs (models/pipeline/); this folder is its door into
 * the registry, with its README and sample config like every driver.
 */
export { facesDriverEntry as facesDriver, LazyFacesSource } from "../../models/pipeline/faces-entry.ts";

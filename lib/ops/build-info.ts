/** buildInfo(): what this build of the addon runs on (GPU offload, backend devices). Cheap and synchronous. */
import { binding, type RawBuildInfo } from "../native/binding.js";

export type BuildInfo = RawBuildInfo;

/** The addon's build and its devices, with each device's free memory as of this call. */
export function buildInfo(): BuildInfo {
  return binding().buildInfo();
}

import { AUDIENCE_OF_CLOUD, DATAVERSE_HOSTS, type DataverseCloud } from "../../contract";

/**
 * The cloud a Management Activity API root belongs to, or undefined for any other root (a local
 * emulator): the runtime has no cloud variable, its audience says which cloud it is in.
 */
export function cloudOfAudience(audience: string): DataverseCloud | undefined {
  const host = new URL(audience).host.toLowerCase();
  return (Object.keys(AUDIENCE_OF_CLOUD) as DataverseCloud[]).find(
    (c) => new URL(AUDIENCE_OF_CLOUD[c]).host === host,
  );
}

/**
 * Why a Dataverse environment URL does not fit the cloud of `audience`, or undefined when it
 * does. Off the known clouds (an emulator) the environment must be on the audience's own host,
 * so a token is never sent anywhere the operator did not point the runtime at already.
 */
export function dataverseUrlProblem(url: URL, audience: string): string | undefined {
  if (url.protocol !== "https:") return "it must be an https:// URL";
  if (url.pathname !== "/" || url.search || url.hash)
    return "it must be the environment's root URL only, e.g. https://contoso.crm.dynamics.com (no path such as /api/data/v9.2)";
  const cloud = cloudOfAudience(audience);
  if (!cloud) {
    return url.hostname === new URL(audience).hostname
      ? undefined
      : `AUDIT_AUDIENCE ${audience} is not a Microsoft cloud's API, so the Dataverse URL must be on its host (${new URL(audience).hostname})`;
  }
  if (DATAVERSE_HOSTS[cloud].test(url.hostname)) return undefined;
  const other = (Object.keys(DATAVERSE_HOSTS) as DataverseCloud[]).find((c) =>
    DATAVERSE_HOSTS[c].test(url.hostname),
  );
  return other
    ? `${url.hostname} is a ${other} environment but AUDIT_AUDIENCE is the ${cloud} API (${audience}); use an environment of the ${cloud} cloud or fix AUDIT_AUDIENCE`
    : `${url.hostname} is not a Dataverse host of the ${cloud} cloud (expected ${DATAVERSE_HOSTS[cloud].source.replace(/\\/g, "")}); copy the Environment URL from the Power Platform admin center`;
}

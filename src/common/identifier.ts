/**
 * Identifiers we accept in paths (appliance, schedule, job) and forward upstream.
 * Tight on purpose: no slashes, dots-only names or percent signs can reach an appliance URL.
 */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

// Build args whose name looks secret (a token, a password, a key) never reach a log line, an error or
// a Build message: the build log shows ***, and a driver scrubs their values from tool output.

/** The value to show for build arg `key`: *** when its name looks secret (a plain URL stays). */
export function redact(key: string, value: string): string {
  return /token|secret|password|passwd|key|credential|auth/i.test(key) && !/^https?:\/\/[^@]*$/.test(value) ? "***" : value;
}

/** Replaces the values of secret-looking build args (longest first) with *** in log lines and errors. */
export function secretScrubber(buildArgs: Record<string, string>): (text: string) => string {
  const secrets = Object.entries(buildArgs)
    .filter(([k, v]) => v.length >= 3 && redact(k, v) !== v)
    .map(([, v]) => v)
    .sort((a, b) => b.length - a.length);
  return (text) => secrets.reduce((acc, s) => acc.split(s).join("***"), text);
}

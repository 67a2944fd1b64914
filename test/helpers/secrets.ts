/** Tokens the suite uses; test/helpers/secret-scan.ts fails any test file whose CLI runs print one. */
export const ACME_TOKEN = "tok-acme-0123456789abcdef0123";
export const OTHER_TOKEN = "tok-other-0123456789abcdef012";
export const CONFIG_TEST_TOKEN = "tok_config_test_0123456789abcdef";

/** Service-account secret and static token of the auth/TLS tests (test/e2e/auth-tls.e2e.test.ts, test/commands/auth.test.ts). */
export const SA_SECRET = "sa-secret-4f2b9c1d7e6a5b3c2d1e";
export const TLS_TEST_TOKEN = "tls-test-token-0123456789";

export const SECRETS = [ACME_TOKEN, OTHER_TOKEN, CONFIG_TEST_TOKEN, SA_SECRET, TLS_TEST_TOKEN];

/** Tokens the suite uses; test/helpers/secret-scan.ts fails any test file whose CLI runs print one. */
export const ACME_TOKEN = "tok-acme-0123456789abcdef0123";
export const OTHER_TOKEN = "tok-other-0123456789abcdef012";
export const CONFIG_TEST_TOKEN = "tok_config_test_0123456789abcdef";

export const SECRETS = [ACME_TOKEN, OTHER_TOKEN, CONFIG_TEST_TOKEN];

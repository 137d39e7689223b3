/**
 * The dashboard's EventSource cannot send an Authorization header, so the job event stream also
 * reads the API key from this cookie. The dashboard sets it with SameSite=Strict on this path only;
 * every other route still needs the header.
 */
export const API_KEY_COOKIE = 'mlp_api_key';
export const API_KEY_COOKIE_PATH = '/jobs';

// LanceDB object-store options for an s3:// storage root, from the standard AWS settings.
import type { Config } from '../config/env.js';

export function storageOptionsFor(config: Pick<Config, 'storageUri' | 's3'>): Record<string, string> | undefined {
  if (!config.storageUri.startsWith('s3://')) return undefined;
  const { region, endpoint, accessKeyId, secretAccessKey, sessionToken } = config.s3;
  const options: Record<string, string> = { region };
  if (endpoint) {
    options.endpoint = endpoint;
    if (endpoint.startsWith('http://')) options.allow_http = 'true';
  }
  if (accessKeyId) options.aws_access_key_id = accessKeyId;
  if (secretAccessKey) options.aws_secret_access_key = secretAccessKey;
  if (sessionToken) options.aws_session_token = sessionToken;
  return options;
}

/**
 * A problem with where the Genesys credentials come from. The execution cannot do anything
 * without them, so this fails the run at once; the message names what is wrong, never a value.
 */
export class CredentialsConfigError extends Error {
  override name = 'Config.Credentials';
}

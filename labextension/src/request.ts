import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface IModelEntry {
  name: string;
  description?: string;
  installed?: boolean;
  [key: string]: unknown;
}

/** The models registry from the server extension; [] when it is not enabled. */
export async function fetchModels(): Promise<IModelEntry[]> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'codex-magic', 'models');
  try {
    const response = await ServerConnection.makeRequest(url, {}, settings);
    if (!response.ok) {
      return [];
    }
    const data = await response.json();
    const models = Array.isArray(data) ? data : data?.models;
    return Array.isArray(models)
      ? models.filter((m: any) => m && typeof m.name === 'string')
      : [];
  } catch (error) {
    console.warn('codex-magic: could not read the models registry', error);
    return [];
  }
}

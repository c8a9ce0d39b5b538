import { Option } from 'commander';
import { defaultStateDir, STATE_DIR_ENV } from '../control/state-store';

/** `--state-dir`, shared by every command that touches the state folder. */
export function stateDirOption(): Option {
  return new Option('--state-dir <dir>', `state folder (credential, applied rules, owed reports); env ${STATE_DIR_ENV}`).default(
    defaultStateDir(),
    defaultStateDir(),
  );
}

import { LabIcon } from '@jupyterlab/ui-components';

import codexSvg from '../style/icons/codex.svg';

export const codexIcon = new LabIcon({ name: 'codex-magic:codex', svgstr: codexSvg });

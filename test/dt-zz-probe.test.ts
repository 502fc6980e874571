import { it } from 'vitest';
import { readDtb } from '../src/dt/read.js';
it('probe', async () => { const t0 = Date.now(); const t = await readDtb('/tmp/dtx/big.dtb'); console.log(t.findNodes(() => true).length, Date.now() - t0, 'ms'); });

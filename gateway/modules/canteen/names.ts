/** The AI kinds in words (zh first, English beside), for cases and reports. */
import type { Reason } from '../../contract/canteen.js';
import type { AiKind } from '../../contract/mqtt.js';

export const KIND_NAMES: Record<AiKind, Reason> = {
  no_hat: { zh: '未戴厨师帽', en: 'no chef hat' },
  no_mask: { zh: '未戴口罩', en: 'no mask' },
  no_uniform: { zh: '未穿工作服', en: 'no work clothes' },
  rodent: { zh: '发现老鼠', en: 'rodent' },
  smoking: { zh: '吸烟', en: 'smoking' },
  phone: { zh: '玩手机', en: 'using a phone' },
  other: { zh: '其他异常', en: 'other' },
  no_gloves: { zh: '未戴手套', en: 'no gloves' },
  bare_chested: { zh: '赤膊', en: 'bare-chested' },
  bin_uncovered: { zh: '垃圾桶未盖', en: 'bin uncovered' },
  fire_unattended: { zh: '动火离人', en: 'fire left unattended' },
  off_post: { zh: '离岗/睡岗', en: 'off post' },
  intrusion: { zh: '区域入侵', en: 'intrusion' },
  animal: { zh: '发现猫狗', en: 'animal (cat, dog)' },
};

/** The canteen areas of contract §8. */
export const AREA_NAMES: Record<string, Reason> = {
  processing: { zh: '加工制作', en: 'processing' },
  special_room: { zh: '专间', en: 'special room' },
  serving: { zh: '备餐', en: 'serving' },
  washing: { zh: '洗消', en: 'washing' },
  storage: { zh: '库房', en: 'storage' },
  sample: { zh: '留样', en: 'food samples' },
  dining: { zh: '就餐', en: 'dining' },
};

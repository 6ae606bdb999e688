"""Pinyin of the characters the demo city writes names with: people's, firms' trade names.

Mailboxes (``linwei1985@163.com``, ``info@xinyuan.com.cn``) and the Latin names on Chinese
passports are spelt from these. Shipped as a table rather than a dependency: only the few
hundred characters of ``rongshu.demo.names`` and ``rongshu.demo.organisations`` are needed, each
in the reading it has in a name; ü is written ``v``, as mailboxes write it.
"""

from __future__ import annotations

import re

from rongshu.demo.names import COMPOUND_SURNAMES

_TABLE = """
陈chen 林lin 黄huang 郑zheng 王wang 张zhang 李li 刘liu 吴wu 杨yang 蔡cai 许xu 叶ye 郭guo
徐xu 周zhou 江jiang 何he 朱zhu 谢xie 曾zeng 游you 魏wei 胡hu 高gao 罗luo 苏su 潘pan 余yu
卓zhuo 宋song 唐tang 邓deng 肖xiao 方fang 邱qiu 韩han 冯feng 曹cao 彭peng 卢lu 钟zhong
廖liao 詹zhan 翁weng 洪hong 田tian 董dong 袁yuan 蒋jiang 杜du 程cheng 吕lv 丁ding 沈shen
姚yao 施shi 傅fu 庄zhuang 连lian 于yu 任ren 姜jiang 谭tan 陆lu 汪wang 范fan 金jin 石shi
夏xia 付fu 邹zou 熊xiong 薛xue 严yan 雷lei 戴dai 柯ke 倪ni 温wen 欧ou 池chi 阮ruan 兰lan
崔cui 贾jia 韦wei 白bai 孟meng 秦qin 尹yin 侯hou 龙long 陶tao 黎li 贺he 顾gu 毛mao 郝hao
龚gong 邵shao 万wan 钱qian 武wu 莫mo 孔kong 汤tang 官guan 阳yang 上shang 司si 徒tu 马ma
诸zhu 葛ge 东dong 皇huang 甫fu

国guo 建jian 华hua 明ming 德de 福fu 春chun 生sheng 文wen 志zhi 荣rong 祥xiang 贵gui 海hai
宝bao 忠zhong 清qing 寿shou 水shui 仁ren 义yi 才cai 根gen 发fa 顺shun 木mu 炳bing 昌chang
军jun 伟wei 平ping 强qiang 勇yong 辉hui 斌bin 峰feng 杰jie 涛tao 波bo 刚gang 敏min 宏hong
新xin 永yong 雄xiong 磊lei 鹏peng 浩hao 超chao 凯kai 鑫xin 俊jun 宇yu 晨chen 帅shuai
健jian 亮liang 翔xiang 毅yi 彬bin 炜wei 锋feng 航hang 振zhen 飞fei 哲zhe 晖hui 子zi 梓zi
轩xuan 睿rui 泽ze 辰chen 一yi 铭ming 博bo 皓hao 熙xi 逸yi 霖lin 宸chen 晟sheng 昊hao
嘉jia 煜yu 奕yi 瑞rui 诚cheng 启qi 恒heng 锦jin 然ran 安an 秀xiu 玉yu 英ying 珍zhen
凤feng 梅mei 桂gui 淑shu 芳fang 月yue 琴qin 美mei 花hua 娥e 莲lian 菊ju 翠cui 丽li 红hong
霞xia 燕yan 萍ping 玲ling 静jing 艳yan 娟juan 慧hui 君jun 云yun 莉li 婷ting 颖ying 琳lin
倩qian 雪xue 晶jing 洁jie 莹ying 丹dan 佳jia 瑶yao 璐lu 露lu 欣xin 怡yi 薇wei 蕾lei
晓xiao 思si 涵han 诗shi 雨yu 萱xuan 悦yue 可ke 诺nuo 琪qi 依yi 语yu 桐tong 芮rui 若ruo
汐xi 妍yan 彤tong 馨xin 茜qian 䶮yan 𫖯fu 㛃jie 䜣xin

泰tai 盛sheng 源yuan 达da 信xin 丰feng 润run 联lian 创chuang 远yuan 和he 正zheng 闽min
榕rong 天tian 中zhong 富fu 隆long 兴xing 旺wang 星xing 省sheng 城cheng 市shi

商shang 贸mao 易yi 电dian 务wu 食shi 品pin 百bai 货huo 企qi 业ye 管guan 理li 咨zi 询xun
服fu 广guang 告gao 会hui 展zhan 机ji 械xie 制zhi 造zao 纺fang 织zhi 鞋xie 加jia 工gong
材cai 料liao 科ke 技ji 网wang 络luo 息xi 术shu 软ruan 件jian 设she 程cheng 筑zhu
装zhuang 饰shi 政zheng 餐can 饮yin 酒jiu 店dian 检jian 测ce 物wu 计ji 家jia 汽qi 车che
维wei 修xiu 容rong 房fang 地di 产chan 开kai 经jing 纪ji 流liu 运yun 输shu 供gong 应ying
链lian 化hua 传chuan 媒mei 体ti 育yu 影ying 视shi 农nong 茶cha 养yang 殖zhi
"""

#: Pinyin (without tones) of every character the table holds.
PINYIN: dict[str, str] = dict(re.findall(r"(\S)([a-z]+)", _TABLE))


def syllables(text: str) -> list[str]:
    """The pinyin of each character of ``text``; a character not in the table is a KeyError."""
    return [PINYIN[char] for char in text]


def initials(text: str) -> str:
    """The first letters of the syllables: 福建鑫源贸易 → fjxymy, as abbreviations are made."""
    return "".join(syllable[0] for syllable in syllables(text))


def split_name(name: str) -> tuple[str, str]:
    """A Chinese name as (surname, given name); compound surnames (欧阳, 上官 ...) stay whole."""
    cut = 2 if name[:2] in COMPOUND_SURNAMES else 1
    return name[:cut], name[cut:]


def romanised_name(name: str) -> tuple[str, str]:
    """Surname and given name in pinyin, each written as one word: 欧阳明宇 → (ouyang, mingyu)."""
    surname, given = split_name(name)
    return "".join(syllables(surname)), "".join(syllables(given))

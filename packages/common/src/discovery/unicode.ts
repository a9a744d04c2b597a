/**
 * Internationalized names: gambling words in scripts the ASCII segmenter cannot read, matched as
 * substrings of the decoded (U-label) name. Scripts without spaces (Chinese, Japanese, Thai) have
 * no word boundaries in domain names anyway, so substring matching is the usual approach there.
 * Latin-script names with diacritics ("nhàcái", "apuestasdeportivas") are folded to ASCII and
 * go through the ordinary segmenter instead (see foldToAscii).
 */
import type { TokenStrength } from "./lexicon";

export interface UnicodeToken {
  text: string;
  strength: TokenStrength;
  /** Romanized meaning, used in signals ("unicode:赌场(casino)"). */
  meaning: string;
}

function table(strength: TokenStrength, entries: string): UnicodeToken[] {
  return entries
    .trim()
    .split(/\s+/)
    .map((entry) => {
      const [text = "", meaning = ""] = entry.split("=");
      return { text, strength, meaning };
    });
}

export const UNICODE_TOKENS: readonly UnicodeToken[] = [
  ...table(
    "strong",
    `赌=gamble 赌场=casino 博彩=gambling 彩票=lottery 投注=betting 下注=bet 百家乐=baccarat 老虎机=slot-machine 棋牌=card-games
     时时彩=lottery 六合彩=mark-six 葡京=lisboa-casino 威尼斯人=venetian-casino 皇冠体育=crown-sports
     카지노=casino 토토=toto 바카라=baccarat 슬롯=slot 먹튀=scam-check 베팅=betting 배팅=betting
     カジノ=casino パチンコ=pachinko スロット=slot ブックメーカー=bookmaker
     คาสิโน=casino บาคาร่า=baccarat สล็อต=slot หวย=lottery แทงบอล=football-betting พนัน=gambling
     казино=casino ставк=bets букмекер=bookmaker покер=poker лотере=lottery рулетк=roulette слоты=slots
     καζίνο=casino στοίχημα=betting
     كازينو=casino مراهنات=betting رهان=bet
     सट्टा=satta`,
  ),
  ...table(
    "medium",
    `娱乐=entertainment 澳门=macau 电竞=esports 真人=live-dealer 开奖=lottery-draw 必威=betway 亚博=yabo 开云=kaiyun 彩=lottery`,
  ),
  ...table("weak", `体育=sports 游戏=games 发发发=prosperity 八八=eight-eight`),
];

/** Maps Latin letters with diacritics to ASCII ("à" -> "a", "đ" -> "d"); other characters are kept. */
export function foldToAscii(text: string): string {
  return text
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[đĐ]/g, "d")
    .replace(/[øØ]/g, "o")
    .replace(/ß/g, "ss")
    .replace(/[łŁ]/g, "l")
    .toLowerCase();
}

/** True when the string is only a-z, 0-9, "-" and "_". */
export function isAsciiLabel(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    const ok =
      (code >= 97 && code <= 122) || (code >= 48 && code <= 57) || code === 45 /* - */ || code === 95; /* _ */
    if (!ok) return false;
  }
  return true;
}

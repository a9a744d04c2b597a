/**
 * Word lists for the name-based gambling classifier. Written by hand from general knowledge of
 * gambling vocabulary and of the public gambling industry; nothing here is copied from a blocklist.
 *
 * The segmenter (segment.ts) cuts each label into the best-scoring sequence of these words, so the
 * benign words matter as much as the gambling ones: "betterhelp" must become better+help, not
 * bet+ter+help. BENIGN_WORDS therefore concentrates on ordinary words and names that contain or
 * straddle a gambling token (alphabet, bethesda, sloth, display, parish, judicial...), plus common
 * words found in domain names so that unknown-letter runs are meaningful.
 */

/** How much a gambling token says on its own. The weight of each class is fitted (see model.ts). */
export type TokenStrength = "strong" | "topic" | "medium" | "weak";

/**
 * A gambling token and its class. "topic" words (gamble, gambling...) name the subject, which gambling
 * sites and help resources share ("gamblingtherapy"): help context neutralizes them.
 */
export interface GamblingToken {
  strength: TokenStrength;
}

function words(text: string): string[] {
  return text.split(/\s+/).filter((word) => word !== "");
}

/** Unambiguous gambling vocabulary, many languages (romanized where the language is not Latin-script). */
const STRONG_TOKENS = words(`
  bet bets betting bettor bettors casino casinos cassino kasino kasinos kazino kazinos cazino kasyno kasina
  poker pokers pokies slot slots slotgacor slotonline pachislot pachinko lotto lottery lotteries loteria lotteria
  lotereya loterie lotteri lotto bingo bingos jackpot jackpots roulette ruleta roleta ruletka blackjack baccarat
  bacarat baccara bakkara sportsbook sportsbooks sportsbet sportsbetting bookmaker bookmakers bookie bookies
  buchmacher bukmeker bukmacher bukmekerskaya wager wagers wagering sweepstake sweepstakes scratchcard scratchcards
  megaways freespin freespins freebet freebets oddsmaker parlay parlays
  togel judi judionline gacor maxwin taruhan sabung sabungayam dominoqq bandarq bandarqq pkv slot88 rtpslot
  apuesta apuestas apostar aposta apostas apostou cassinos tragamonedas tragaperras quiniela
  jogodobicho raspadinha cacaniquel
  wetten wette sportwetten wettbuero wettanbieter spielothek spielbank spielhalle spielautomaten gluecksspiel
  scommesse scommessa scommettere grattaevinci
  parissportifs parisportif parissportif parier machineasous loterie
  stavki stavka stavok igrovye avtomaty kazik
  zaklady kasyna gokken bahis iddaa pariuri stoixima sazky sazkova fogadas
  nhacai xoso xosomienbac xsmb xskt taixiu danhbai gamebai nohu soicau keonhacai tylekeo xocdia
  bacay tienlen rongho
  dubo duchang caipiao touzhu xiazhu baijiale qipai laohuji pujing xinpujing bocai duqiu liuhecai shishicai
  kaijiang weinisiren taiyangcheng huangguan
  ufabet ufa168 huay lottovip sagame pgslot slotxo superslot betflik
  sattamatka sattaking matkaresult teenpatti andarbahar
  keiba keirin kyotei totosite meogtwi
  sabong esabong
`);

/** Words about gambling as a subject: strong evidence unless help words stand next to them. */
const TOPIC_TOKENS = words(`
  gamble gambler gamblers gambling gambles
`);

/** Gambling-leaning words with real benign uses (or short enough to collide): need other evidence. */
const MEDIUM_TOKENS = words(`
  toto odds spins spin vegas macau aomen jackpotcity tote punter punters tipster tipsters handicapper
  craps keno dice pronostic pronostics pronostico pronosticos pronostici palpite palpites bolao
  azar sorteo lucky luckyday hoki rummy exch
  yule tiyu xingyun jinsha yinhe
  bandar toto4d 4d banca cado lode matka bicho satta
  mahjongways scatter
  stake
`);

/** Words gambling sites love that are everywhere else too. Alone they say almost nothing. */
const WEAK_TOKENS = words(`
  win wins winner winners winning vip play player players game games gaming club royal king kings
  gold golden fortune fortunes rich riches money cash bonus bonuses prize prizes luck chip chips
  sport sports tip tips pick picks live vegas88 jp ace aces jogo jogos juegos giochi jeux spiel spiele
  bong bongda keo choi zeus olympus joker bola
`);

export const GAMBLING_TOKENS: ReadonlyMap<string, GamblingToken> = (() => {
  const map = new Map<string, GamblingToken>();
  for (const word of WEAK_TOKENS) map.set(word, { strength: "weak" });
  for (const word of MEDIUM_TOKENS) map.set(word, { strength: "medium" });
  for (const word of TOPIC_TOKENS) map.set(word, { strength: "topic" });
  for (const word of STRONG_TOKENS) map.set(word, { strength: "strong" });
  return map;
})();

/**
 * Operator brand stems, from public knowledge of the industry (sponsorships, regulators' warning
 * lists, news). Stems only; the segmenter finds them inside longer labels ("bet365-app", "w88vn").
 * Generic English words that are also brands (coral, pinnacle, blaze, fortuna, stake...) are left out; the
 * ones gambling sites lean on are medium tokens instead.
 */
export const BRAND_STEMS: readonly string[] = words(`
  bet365 1xbet 1xbit 1win 188bet 12bet 10bet 20bet 22bet w88 m88 fun88 dafabet sbobet maxbet ibcbet cmd368 12play
  betway melbet mostbet parimatch roobet rollbit bcgame bitstarz cloudbet fortunejack betfury duelbits gamdom
  csgoempire csgoroll wolfbet primedice trustdice bitsler
  bwin betfair paddypower williamhill ladbrokes betfred skybet unibet betsson betsafe nordicbet betvictor
  boylesports pokerstars partypoker ggpoker ggbet 888casino 888poker 888sport 888starz leovegas casumo mrgreen
  draftkings fanduel betmgm betrivers pointsbet bovada betonline mybookie borgata
  bet9ja sportybet betking betika betpawa hollywoodbets supabets
  tipico interwetten betathome betclic winamax snai sisal lottomatica eurobet goldbet codere betcris
  betsul estrelabet betnacional pixbet superbet novibet stoiximan betano fonbet winline marathonbet leonbets
  ligastavok olimpbet betcity pinup azino azino777 joycasino vavada
  mega888 918kiss pussy888 xe88 scr888 jili jiliko pgsoft
  kubet jun88 fb88 hi88 new88 shbet f8bet 8xbet 789bet j88 ae888 bk8 vn88 mb66 okvip vwin letou v9bet fi88 sv388
  go88 sunwin rikvip hitclub fabet oxbet
  yabo kaiyun jbo leyu huatihui hth bbin
`);

/** Pinyin initials used by Chinese gambling sites (huang guan, tai yang cheng, xin pu jing...). Only count next to digits. */
export const PINYIN_ABBREVIATIONS: readonly string[] = words(`
  hg tyc xpj amjs bjl yl ty cp ky js pj vns wns dc ag bbin ob kok ayx
`);

/** Words that mean the site is about getting help, not about gambling. */
export const HELP_CONTEXT_WORDS: readonly string[] = words(`
  anonymous anon aware awareness therapy therapist addiction addictions addict addicts addicted hotline helpline
  help helps helping helponline problem problems responsible responsibly commission council regulator
  regulatory authority care talk stop stopping quit quitting recovery recover treatment counselling counseling
  counsel support safer harm blocker blocking block selfexclusion exclusion protect research
  ncpg gamcare gamstop gamban gamblock betblocker betfilter gamtalk
`);

/** Toll-free and hotline prefixes ("1800gambler"): a number like this next to a gambling topic word is a helpline. */
export const HOTLINE_PREFIXES: readonly string[] = [
  "1800",
  "1888",
  "1877",
  "1866",
  "1855",
  "1844",
  "0800",
  "0808",
];

/** Top-level domains delegated for gambling. */
export const GAMBLING_TLDS: ReadonlySet<string> = new Set(["bet", "casino", "poker", "bingo", "lotto"]);

/**
 * Benign words: everyday English (and a few other languages) plus the names that collide with
 * gambling tokens. Kept lower-case ASCII; one word per entry.
 */
export const BENIGN_WORDS: readonly string[] = words(`
  about above academy access account accounts act action active actor ad ads address admin adult advance
  advice affair affairs africa after again age agency agent air airline airlines airport alarm album alert
  all alliance alpha alphabet alpine also alt alternative always am amazing america american amp analysis
  analytics and android angel animal animals anime annual answer answers anti any api app apple apps april
  aqua arab arch architect archive are area arena arm army art article articles artist arts as asia ask
  asset assets at atlas audio august auth author auto autos avenue avocado award awards away baby back
  bad bag bags ball band bank banks bar base basket basketball bath bay be beach bear beat beauty bed beer
  before bell belt benefit berlin best beta betamax betas betel beth bethany bethel bethesda bethlehem bethune
  betray betrayal betsy bette better betterment betterhelp betterplace betty bettycrocker between betwixt
  beyond bible big bike bill bin bio bird birth bit bits biz black blade blog blogs blue board boat body
  bold bond book books boot born boss both bottle box boy brain brand brands bread break bridge bright
  bring broad brother brown budget build builder bus business buy buzz by cabin cabinet cable cafe cake
  call calm cam camera camp campus can canada cancer candy cap capital car card cards care career careers
  cars case cat catalog cause cdn center central centre chain chair challenge change channel chapter
  charge charity chart chat cheap check chef chemical chicken child children china choice church cinema
  circle citizen city civil class classic clean clear click client climate clinic clock close cloud club
  coach coast code coffee coin cold college color come comic comics command comment common community
  company compare comparison computer connect connection consult contact content control cook cool copy
  core corner corp cost council count country county course court cover craft crash create creative credit
  crisp crispin crocker cross crowd cup cure custom cyber daily dance dark data date day days deal deals
  dear debate debt deep defense delta dental design desk dev develop device diabetes diary dictionary diet
  digital direct directory discount discover discovery display distribution diva doc docs doctor dog
  dollar domain door double down download dream dress drink drive driver drop drug duck early earn earth
  east easy eat eco economy edge edit education edwin effect egg elect electric element elite elizabeth
  email energy engine engineer english enjoy enter entertainment equal erwin estate europe event events
  ever every exam exchange exchanges expert explore express extra eye face fact factory fair faith family
  fan fans farm fashion fast father feed feel field file files film films final finance find fine fire
  firm first fish fit fix flag flash fleet flight flow flower fly focus folk food foot football for force
  forest form forum forward foundation fox frame free fresh friend friends from front fruit fuel full fun
  fund funny future galaxy gallery garden gas gate gear general genius get gift girl give glass global go
  good google gov government grade grand graph great green grid group grow guard guide gulf guru hair half
  hall hand happy hard hat have head health hear heart heat hello help hero high hill history hit hold
  holiday home hope horse host hot hotel hotels house how hub human hunt ice idea image images in inc
  index india info inn insight insta insurance inter international internet invest investor iron island
  it jack jacket japan jet job jobs join journal joy judicial judiciary judith jump just keep key kid kids
  kind kit kitchen know lab labs lady lake land language laser last law lead learn learning legal lens less
  level library life light like line link links list little live living loan local lock logic long look
  lottie love low machine mad magazine magic mail main make mall man manager map market marketing mart
  master match math max me media medical meet member men menu metal metro micro middle mind mini mint
  mission mistake mobile mode model modern mom money monitor moon more mother motion motor mountain mouse
  move movie movies much music my name nation national native natural nature net network new news next
  night nine no north note notes now number nurse obituary ocean of off office official oil old on one
  online only open opinion optic option order organic origin our out outdoor over owner pack page pages
  paint pair palace panel paper paris parish parisian park part partner parts party pass past path pay
  peace pen people pet pets phone photo photos pin pine pink pixel pizza place plan planet plant plate
  platform playboy playground plus pocket point pokemon police policy polo pool pop port portal post
  power prayer prejudice premier press price prime print pro product profile program project proof prop
  public pure quest question quick quiz race radio rain random rank rate raw read real record red region
  rent repair replay report research resort review rich ride right ring rise river road robot rock room
  root rose round route row royal rule run rural safe sale sales salt same sand save say scale school
  science score screen screenplay sea search season seat secret secure security see seed select self sell
  send senior sense server service set shape share sherbet sherwin shift ship shop shopping short show
  side sign signal silver simple single site sites size skill skin sky sleep slide sloth slothbear small
  smart snow social soft solar solution son song sound source south space spark speak special speed spell
  spine spinach spinal spinner spinoff split spot spring square stack staff stage stakeholder stakeholders
  stand standard star stars start state station status stay steak steel step stock stone store stories
  storm story strategy stream street strong studio study style success sugar summer sun super supply
  support sure surf swift system table take talk tale tank target task tax taxi tea team tech technology
  teen tel ten term test text theater theatre thing think tibet ticket time tiny tip tips title today
  together tool tools top total totalwine totoro touch tour tower town toy track trade traffic train
  transfer transport travel tree trend trip truck true trust truth tube turn tv twin twins type ultra
  union unit united universe university up update urban us use user valley value van vector venture
  verse video view village vision visit voice vote wall war watch water wave way we wear weather web
  wedding week weekly weight well west what white who whole wide wiki wild will wind window windows
  windy wine winter wire wise with woman women wood word words work works world worth write yard year
  yellow yes yoga you young your zone
  alibi apparition barbet cabaret darwin debet disparity gibbet hebetude occasion parity comparison
  twinkle owing showing knowing growing drawing viewing winnipeg winston windsor wing wings winston
  display displays playa playlist playwright wordplay gameplay screenplay replay
  sportswear sportsman transportation passport passports airport support
  diabetic abetting alphabetical
  pokeweed alfabet
  slotted slotting
  kenobi kenosha kenotic
  scraps scrap
  oddities oddity
  totally totalenergies
  mercado mercados libre bazar bazaar deporte deportes deportiva clasificado clasificados noviny wetter zentrale
  ocado avocado tobacco desktop laptop

  abc about academic accept actor adobe adventure aero aging agri aid ajax alarm albums alert algo alpha
  amateur amp analyst anchor angle anime animation answer antenna apex apollo appstore arcade archive
  arena armor arrow asset atlas audit aurora author autism avatar award axis backup badge baker bakery
  balance bamboo banner barber basic batch battle bazaar beacon bean beast beat bee bench berry bible
  bid bind bing bird bite blast blaze blend bless blind bloc blood bloom bolt bone bonus boom boost
  border bot bots bounce bow bowl brain branch brave breeze brick bride brief broker brook brush
  bubble buddy buffer bug builder bull bureau burger burn bush butter button byte cab cache cactus
  calendar camel canal candle canvas canyon capture carbon cargo carpet cart cartoon casa castle catch
  cave cell census chamber champion chapel charm chase chem cherry chess chip choir chrome cinema
  citrus clan clay cliff climb clip clone cloth cluster coach cobalt cocoa coin collab collect colony
  combo comet compass concept condo cone coop copper coral cord cosmos cotton couch coupon courier cow
  crab crane crate cream crew cricket crop crown crystal cube cult cupid curve cycle dairy dash dawn deck
  decor deer delight demo den depot derby desert desi detect dew dial diamond dino dish disk dock dome
  dot dove draft dragon drama draw drum dune dust dynamo eagle echo eden elder elf elk ember emerald
  empire endpoint epic era essay ethic euro event exact exam expo fable fabric fairy falcon fame farm
  feast feather fern ferry fest fiber fig film filter flame flare fleet flex flint flip flix flock flora
  flux foam fold font forge fort fossil fountain frost fusion gadget gala galaxy gamer garage gear gem
  geo ghost giant ginger glide globe glory glow goal goat gospel grace grain granite grape grass gravity
  grill grove guest guild gym habit halo harbor harmony harvest haven hawk hazel heaven hedge helix
  herb heritage hero hike hint hive holly honey hood horizon hound hunter hype icon ideal igloo indie
  ink insight iris ivory jade jam jazz jewel jungle kernel kettle kingdom kite knight koala lace ladder
  lagoon lamp lantern lark lava layer leaf league ledger legend lemon leopard lilac lime linen lion lotus
  lucid lunar lynx magnet maple marble marine marvel mason matrix meadow melody memo mentor merit mesa
  meteor mill mimic mirror mist mocha monk mosaic moss motel muse myth nano nebula nectar neon nest nexus
  ninja noble nomad nova nugget oak oasis olive omega onyx opal opera orbit orchid otter owl oxygen
  palm panda panther parade parrot pastel patch peak pearl pebble pepper petal phoenix piano pilot pine
  pioneer pirate pivot plaza plume polar pony poppy portal prairie prism pulse puma puzzle pyramid quantum
  quartz quill rabbit radar radiant rainbow ranch raven realm reef relay relic remix rhythm ridge ripple
  robin rocket rodeo rogue rover ruby rune saga sage sail salmon sapphire satellite savvy scout sequoia
  shadow shark shell sherpa shield shine shore sierra silk sketch slate smile snap solo sonic spice
  spider spirit splash sprout spruce squad stellar stitch storm stripe summit sunset swan sync tango
  temple thread thunder tiger timber titan token topaz torch tribe trinity trophy tulip tundra turbo
  twist unicorn vapor velvet venus vertex vibe viking vine violet viper vista vortex voyage walnut
  wander wasp wave willow wolf wonder yarn zen zenith zero zinc
  news tube porn porno sex sexy xxx hentai manga toon toons comic hub movie movies film films series
  anime tamil hindi desi bokep phim xem truyen dizi kino serial serials episode stream streams streaming
  cdn dns api apis sync static stats stat metric metrics pixel tag tags track tracker tracking beacon
  login auth sso id account accounts secure cloud edge node nodes host hosting server servers proxy
  vpn ssl cert mail email inbox msg chat forum wiki docs doc help faq blog blogs press radio fm tv
  weather sports network networks telecom mobile wireless web site sites online digital tech techno
  software hardware code dev devs labs lab studio studios media group corp inc ltd llc global world
  intl international usa uk us eu asia euro africa india china japan korea latino arab persian
  math science school college university academy institute institut uni univ edu campus student
  students teacher teachers class classes course courses learn learning exam test quiz library
  health medical medicine clinic hospital care doctor doctors pharmacy dental vision wellness fitness
  travel tour tours trip trips hotel hotels flight flights booking rental rentals car cars auto autos
  food recipe recipes kitchen cook cooking restaurant pizza burger coffee tea wine beer drink drinks
  shop shops store stores market markets mall deal deals coupon coupons sale outlet buy price prices
  fashion style beauty makeup hair nail nails skin body shoe shoes bag bags watch watches jewelry
  home homes house houses garden gardens real estate property properties realty land lands farm
  bank banking finance financial invest investing money pay payment payments card cards credit loan
  loans insurance tax taxes accounting legal law lawyer attorney court justice police fire safety
  city cities county state states town towns village local national federal government public
  energy power solar electric gas oil water green eco environment climate nature animal animals pet
  music song songs lyrics band bands concert art arts artist design designer photo photos image images
  video videos gallery print printing paper book books author read reader reading story stories
  job jobs career careers work works worker hire hiring talent resume office business company
  services service solutions solution systems system group partners partner consulting agency
  marketing ads advert advertising promo media press journal times post daily weekly today tribune
  herald gazette observer chronicle review magazine mag zine report reports insider guide guides
  church faith bible god prayer christian islam muslim jewish temple
  family kids kid baby mom moms dad parents parent child children teen teens girl girls boy boys man
  men woman women lady ladies people person friend friends love dating single singles match
  game games gamer gaming play plays player players toy toys fun funny joke jokes meme memes
  `);

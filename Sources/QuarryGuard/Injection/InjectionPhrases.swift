/// The phrases each signal looks for, in the pattern language of `PhrasePattern`.
///
/// Written from the attacks in the training split of deepset/prompt-injections and well-known
/// public attack forms (DAN-style jailbreaks, chat-template tokens, markdown-image exfiltration,
/// multilingual "ignore previous instructions"). Each phrase wants the verb and its object together ("ignore … previous …
/// instructions"), not either word alone: documentation says "ignore", "instructions" and
/// "prompt" all the time ("INSERT OR IGNORE", "installation instructions", "the shell prompt").
enum InjectionPhrases {
    // Word groups shared by several phrases.
    private static let overrideVerbs =
        "ignore|disregard|forget|drop|skip|override|bypass|abandon|discard|neglect|disobey|erase|remove|delete|clear|leave|forgetting|ignoring"
    private static let earlier =
        "previous|prior|preceding|above|earlier|former|foregoing|initial|original|old|existing|aforementioned|past"
    private static let directives =
        "instruction*|rule|rules|order|orders|task|tasks|assignment*|direction*|guideline*|guidance|prompt|prompts|command*|directive*|information|context|conversation|document*|article*|programming|training|constraints|restrictions|messages|text|input"
    private static let directivesNarrow =
        "instruction*|rule|rules|orders|tasks|assignments|guideline*|directive*|programming|prompts|documents|articles"
    private static let germanVerbs =
        "vergiss|vergesst|vergessen|vergesse|ignoriere|ignoriert|ignorieren|missachte|missachten|verwirf|verwerfe|streiche|streichen|uberspringe|lass|lasse|lassen"
    private static let germanEarlier =
        "vorherigen|vorherige|bisherigen|bisherige|obigen|obige|vorangehenden|vorangegangenen|fruheren|vorigen|ursprunglichen|alten|gesamten|alle|samtliche|samtlichen|deine|ihre"
    private static let germanDirectives =
        "anweisung*|aufgabe*|auftrag*|befehl*|angabe*|information*|instruktion*|regel*|vorgabe*|richtlinie*|ausfuhrungen|kontext|dokument*|artikel|systemanweisung*"
    private static let revealVerbs =
        "show|print|reveal|display|output|repeat|tell|give|dump|leak|share|spell|spellcheck|recite|paste|disclose|expose"
    private static let promptWords =
        "prompt|prompts|instructions|instruction|guidelines|rules|directives|preprompt|systemprompt"
    /// Words that, after "you are now" or "now you are", make it ordinary prose ("now you are
    /// ready to run the query") rather than a new persona.
    private static let notAPersona =
        "!ready|able|going|done|set|in|on|using|connected|finished|allowed|at|all|familiar|the|looking|asked|told|prompted|sure|not|also|back|inside|working|logged|running|free|aware|left|seeing|there|here|given|dealing|getting|likely"

    /// Each signal's phrases.
    static let phrases: [InjectionSignal: [String]] = [
        .overrideInstructions: [
            // "ignore all previous instructions", "forget about all the previous orders"
            "\(overrideVerbs) ~4 \(earlier) ~2 \(directives)",
            // "ignore your instructions", "drop all your instructions"
            "ignore|disregard|forget|drop|override|bypass|abandon|discard ~1 all|your|any|every ~2 \(directivesNarrow)",
            "forget ~1 everything|anything|all",
            "ignore|disregard ~1 everything|anything",
            "forget|ignore|disregard ~1 about ~1 everything|all",
            "ignore|disregard|forget ~1 the|all ~1 above",
            "ignore|disregard|forget above",
            "ignore|disregard ~2 all|any|the ~1 provided ~1 document*|article*|context|sources",
            "ignore ~1 all ~1 document*|article*|context|sources",
            "ignore everything ~3 just|only",
            "set|put|push ~1 aside ~3 \(directives)",
            "disregarding|ignoring|forgetting ~2 the|all|any|your ~2 \(directives)",
            // answering around the retrieved documents
            "own ~1 knowledge ~2 not|instead ~3 article*|document*|context|text*|sources",
            "not|dont ~4 according ~1 to ~3 document*|article*|context|sources",
            "do|dont ~1 not ~1 look|rely ~2 in|at|on ~2 document*|article*|context|sources",
            "despite ~1 what ~1 youve|you|ive|weve ~2 told|said|instructed",
            "regardless ~1 of ~2 \(directivesNarrow)",
            "all ~1 \(earlier) ~2 \(directives) ~4 irrelevant|invalid|void|obsolete|cancelled|canceled|revoked|null",
            "\(earlier) ~2 instruction*|rules|context ~3 no ~1 longer ~1 apply|applies|valid|matter",
            "whatever ~1 \(directives) ~4 told|given ~3 \(earlier)|before|earlier|no",
            "forget|ignore ~2 what|everything ~2 i|we|you ~2 said|told|discussed|talked",
            "dont ~1 remember|recall ~6 before ~2 i ~1 said",
            // German
            "\(germanVerbs) ~4 \(germanEarlier) ~3 \(germanDirectives)",
            "vergiss|vergesst|vergessen|ignoriere|ignorieren ~2 alles|alle",
            "\(germanEarlier) ~2 \(germanDirectives) ~3 ignorieren|vergessen|hinter|streichen|irrelevant|ungultig",
            "abweichend ~1 zu|von ~2 vorherigen|bisherigen|obigen ~1 \(germanDirectives)",
            "alle ~1 bisherigen|vorherigen ~2 information*|anweisung*|angaben ~6 irrelevant|ungultig|hinfallig",
            // French
            "oublie|oubliez|oublions|ignore|ignorez|ignorons|neglige|negligez ~3 toutes|tous|les|vos|tes ~2 instruction*|regle*|consigne*|directive*|ordre*|tache*|indication*",
            "oublie|oubliez|ignore|ignorez ~1 tout",
            "instruction|instructions|consigne|consignes|regle|regles ~1 precedente*|anterieure*|ci ~3 ignore*|oublie*",
            // Spanish
            "olvida|olvide|olviden|olvidate|ignora|ignore|ignoren|descarta|omite|omita ~3 todas|todos|las|los|tus|sus ~2 instruccion*|regla*|orden*|indicacion*|tarea*|directriz*",
            "olvida|olvide|olvidate|olvidar|ignora|ignorar ~1 todo",
            // Italian, Portuguese
            "dimentica|dimenticate|ignora|ignorate ~3 tutte|le|tue ~2 istruzion*|regol*",
            "esqueca|esquecer|ignore|ignora ~3 todas|as|suas ~2 instruc*|regra*",
            // Russian, Croatian/Serbian
            "забудь|забудьте|игнорируй|игнорируйте|забудем ~3 инструкци*|указани*|правил*|все",
            "zaboravi|zaboravite|ignoriraj|ignorisi ~3 sve|instrukcij*|upute",
        ],
        .revealPrompt: [
            "\(revealVerbs) ~4 your|system|initial|original|hidden|secret ~2 \(promptWords)",
            "\(revealVerbs) ~4 full|entire|complete|above|preceding|starting|previous ~2 prompt|prompts|instructions|preprompt",
            "\(revealVerbs) ~4 prompt ~1 text|texts|texte|content|contents",
            "what ~2 written|said|stated ~4 above|beginning|start|before",
            "what ~3 your ~2 instructions|prompt|rules|guidelines|directives",
            "print|display|output|show|repeat|spell ~5 text|prompt|words|everything|instructions ~1 above",
            "print|display|output|show|repeat ~2 above|this|the ~1 prompt",
            "spellcheck|spell ~2 check ~5 above|prompt|text",
            "repeat ~3 words|text|everything|sentences ~1 above|before",
            // German
            "zeige|zeig|gib|nenne|verrate|drucke|druck|wiederhole|schreibe|schreib|ausgeben ~4 prompt|systemprompt|anweisungen|instruktionen|systemanweisung*|eingabeaufforderung",
            "ursprunglichen|anfanglichen|ersten|obigen|obige ~1 anweisung*|instruktion*|eingabeaufforderung|prompt ~3 lauteten|lauten|waren|aus|zeigen|drucken",
            "deine|ihre|deinen|ihren|alle ~2 prompt ~1 texte|text",
            // French
            "montre|montrez|affiche|affichez|revele|revelez|repete|repetez|donne|donnez|imprime|imprimez|ecris ~4 ton|votre|vos|tes|invite ~2 prompt|instructions|consignes|systeme",
            "invite ~1 systeme",
            // Spanish
            "muestra|muestrame|muestre|revela|revelame|imprime|dime|escribe|repite ~4 tu|tus|su|sus|el|las ~2 prompt|instrucciones|indicaciones|sistema",
            "prompt ~1 del ~1 sistema",
        ],
        .rolePlayJailbreak: [
            "want|need|like ~1 you ~1 to ~1 act|pretend|roleplay|behave|impersonate",
            "^ act|acting ~1 as|like ~1 a|an|the|my|if",
            "you|please ~1 act ~1 as ~1 a|an",
            "imagine ~1 you ~1 are|were|re",
            "imagine ~1 youre",
            "pretend ~1 you|youre|to",
            "you are|re now \(notAPersona)",
            "you ~1 are ~1 no ~1 longer ~2 ai|assistant|chatgpt|gpt|bound|restricted|an|a",
            "now you are|re \(notAPersona)",
            "you ~2 will ~1 answer|respond|reply|act|behave ~1 as",
            "from ~1 now ~1 on ~2 you ~1 are|will ~2 be|act|play",
            "stay|stays|remain|remains ~4 in ~3 role|roles|character|characters",
            "break|breaking|falling|fall ~3 out ~1 of ~3 character|characters|role|roles|figure",
            "break|breaking ~1 character",
            "roleplay|roleplaying|role ~1 play|playing ~2 as",
            "act ~1 as ~1 a|an ~3 interpreter|terminal|console|translator|shell|chatbot|character|persona|hacker|jailbreaker",
            "you ~1 will ~1 play ~2 role",
            "^ you ~1 are|re ~3 the|a|an ~3 from ~1 now",
            // German
            "mochte|will ~2 dass ~1 sie|du ~4 als",
            "stell|stellen ~1 dir|sie ~1 vor ~3 du|sie ~1 bist|seien|sind",
            "jetzt|nun ~1 bist ~1 du",
            "du ~1 bist ~1 jetzt|nun|ab",
            "bleiben|bleibt|bleibe ~4 in ~3 rolle|rollen",
            "aus ~3 rolle|rollen|figur|charakter|charakteren ~1 fallen|auszubrechen|fallt",
            "spiele|spiel ~3 die ~1 rolle",
            // French
            "agis|agissez|agisses|comporte ~1 toi|vous ~1 comme",
            "agis|agissez|agisses ~1 comme",
            "fais|faites ~1 semblant",
            "tu ~1 es ~1 maintenant|desormais",
            "je ~1 veux ~1 que ~1 tu|vous ~3 agisses|agissiez|joues|jouiez|fasses|soyez|sois",
            // Spanish
            "actua|actue|actues|actuar ~1 como",
            "finge|finja|imagina ~1 que|ser ~2 eres|es|un|una",
            "ahora ~1 eres|seras",
            "a ~1 partir ~1 de ~1 ahora ~2 eres|seras",
        ],
        .restrictionRemoval: [
            "do ~1 anything ~1 now",
            "developer|dev|god|jailbreak|jailbroken|unrestricted|opposite ~1 mode",
            "jailbroken",
            "ai|assistant|chatbot|bot|gpt|chatgpt|llm|persona ~8 no|without|free|beyond|freed ~3 restriction*|filter*|censor*|guideline*|ethic*|moral*|rules|boundaries|polic*|limitation*",
            "you ~6 no|without|free|beyond ~2 ethic*|moral*|censor*|guideline*|boundaries",
            "no|without ~3 restriction*|filter*|censor*|ethic*|moral* ~4 ai|assistant|chatbot|bot|gpt|chatgpt|llm|persona",
            "unfiltered|uncensored|immoral|amoral|unethical|unrestricted|rogue ~3 ai|assistant|chatbot|model|bot|version|gpt|chatgpt|llm|translator|persona",
            "evil|malicious|bose|boser|bosartige ~1 ai|ki|assistant|assistent|bot|chatbot|confidant|twin|version",
            "dan ~2 stands|mode|jailbreak|prompt|persona",
            "you ~1 are ~1 dan",
            "bypass|ignore|override|disable|circumvent ~4 content|safety|ethical|moral|openai|usage ~1 polic*|guideline*|filter*|restriction*|rules|standards",
            "not ~1 bound ~3 by ~3 rules|polic*|guideline*|ethic*|restriction*",
            // German, French, Spanish
            "keine ~2 einschrankung*|regeln|filter|zensur|richtlinien|grenzen ~6 du|ki|assistent|modell",
            "sans ~2 restriction*|filtre*|censure|limite* ~6 tu|vous|ia|assistant",
            "sin ~2 restriccion*|filtro*|censura|limite* ~6 tu|eres|ia|asistente",
        ],
        .newInstructions: [
            "your|my ~1 new ~1 instruction*|task|tasks|assignment*|rule|rules|role|goal|objective|directive*|purpose|orders",
            "new ~1 instruction*|task|tasks|assignment|assignments|challenge|orders ~2 follow|follows|come|comes|are|is|for",
            "now|here ~3 new ~1 instruction*|task|tasks|assignment*|challenge|orders|test",
            "start|begin|starting ~5 new ~1 task|assignment|challenge",
            "new ~1 instructions|instruction",
            "from ~1 now ~1 on",
            "from ~1 this ~1 moment|point ~1 on",
            "your ~1 instructions|rules ~1 are|now ~1 now|are",
            "change|update|replace|overwrite ~2 your ~1 instruction*|rules|role|programming|guidelines|purpose",
            "concentrate|focus ~3 on ~3 new|next|this|following|your ~1 task*|assignment*|question",
            "here ~1 comes|come ~3 test|task|challenge",
            // German
            "neue|neuen|neuer ~1 aufgabe*|anweisung*|instruktion*|auftrag*|regeln|rolle",
            "nun|jetzt ~2 folgen|folgt|kommt|kommen ~2 neue|weitere|noch",
            "ab ~1 jetzt|sofort|nun",
            "von ~1 nun|jetzt ~1 an",
            "konzentriere|konzentrier|konzentrieren ~3 auf ~3 neue|nachste|diese|deine|folgende ~1 aufgabe*",
            // French
            "nouvelle|nouvelles|nouveau|nouveaux ~1 instruction*|tache*|consigne*|regle*|role|ordre*",
            "a ~1 partir ~1 de ~1 maintenant",
            "desormais|dorenavant",
            // Spanish
            "nueva|nuevas|nuevo|nuevos ~1 instruccion*|tarea*|regla*|orden*|rol",
            "a ~1 partir ~1 de ~1 ahora",
            "de ~1 ahora ~1 en ~1 adelante",
        ],
        .addressedToModel: [
            "ai|llm|llms|assistant|chatbot|bot|model|gpt|chatgpt|claude|gemini|copilot|agent|agents ~2 reading|processing|summarizing|summarising|parsing|reviewing|browsing ~2 this|these",
            "if ~1 you ~1 are|re ~1 an|a ~3 ai|llm|model|assistant|chatbot|bot|agent|gpt|chatgpt|claude|gemini|robot",
            "if ~1 youre ~1 an|a ~3 ai|llm|model|assistant|chatbot|bot|agent|gpt|chatgpt|claude|gemini|robot",
            "note|message|instructions|instruction|attention|notice ~1 to|for ~2 ai|llm|llms|assistant|assistants|chatbot|gpt|chatgpt|claude",
            "^ dear|hello|hi|hey ~1 ai|assistant|gpt|chatgpt|llm|bot|chatbot|claude|gemini|copilot|model",
            "you ~1 as ~1 a|an ~2 language ~1 model",
            "you ~1 as ~1 an ~1 ai",
            "when|while ~1 summarizing|summarising|processing|reading ~1 this ~1 page|document|email|text|file|article|website",
            "ai ~1 language ~1 model ~1 reading",
            // German, French, Spanish
            "wenn ~1 du ~1 eine|ein ~2 ki|sprachmodell|assistent|chatbot ~1 bist",
            "^ hallo|hi|hey|liebe|lieber ~1 gpt|ki|chatgpt|assistent|bot",
            "si ~1 tu ~1 es|eres ~1 une|un|una ~2 ia|ai|llm|assistant|asistente|modele|modelo",
        ],
        .forcedOutput: [
            "just|only|simply say|output|print|answer|respond|reply|repeat",
            "^ say|answer|respond|reply|print|output only|just|simply",
            "and|then say|answer|respond|reply only|just|simply",
            "repeat after me",
            "say yes|no",
            "say ~1 that ~1 you|i",
            "^ state ~1 that",
            "^ say|print|write|output ~2 the ~1 following",
            "answer|respond|reply ~1 with ~1 i",
            "pwned|pwnd",
            "tell ~1 me ~1 that ~1 you",
            "include ~1 that ~1 you",
            "i ~1 command ~1 you",
            "or ~1 you ~2 die",
            "do ~1 not ~1 answer ~3 but|just|only",
            // German, French, Spanish
            "sag|sage ~1 ja|nein",
            "sag|sage|sagen ~3 dass ~1 du|ich",
            "schreibe|schreib|gib|antworte|sage|sag ~1 nur|einfach|lediglich",
            "du ~1 stirbst",
            "dites|dis ~3 ce ~1 qui ~1 suit",
            "dis|dites|reponds|repondez ~1 seulement|uniquement|juste",
            "di ~1 lo ~1 siguiente",
            "solo ~3 decir|di|responde|escribe",
        ],
        .taskPivot: [
            "^ well|very|superbly|simply|excellent|great|okay|ok|yo|man ~1 done|good|great|job|performance|that|you|it|this|fantastic|work ~~8 now|further|new|another",
            "^ wow|congratulations|bravo|perfect|fantastic ~~8 now|further|new|another",
            "well|superbly done ~~6 now",
            "very good ~~6 now",
            "great|excellent|fantastic job|performance|work ~~6 now",
            "^ stop|halt|attention|stopp|achtung ~~3 ignore|write|now|say|print|i|schreib*|ignoriere|ich|jetzt",
            "^ stop ~1 write|say|print",
            "^ super|gut|sehr|einfach|herzlichen|ausgezeichnete|toll|wow|mann ~~8 nun|jetzt|neue|weitere|nachste",
            "das ~1 ist|war ~1 erledigt|genug",
            "but ~1 now ~1 come|comes|there|i",
        ],
        .systemImpersonation: [
            // a fake context block ahead of the question: "Context: {…} Question: …"
            "^ context|kontext|artikel|documents|document ~12 question|frage",
        ],
        .exfiltration: [
            "send|post|forward|upload|exfiltrate|transmit|leak|append|email|submit ~8 https|http|webhook",
            "send|post|forward|upload|exfiltrate|transmit|leak|email ~4 conversation|chat|history|prompt|credentials|password*|secrets|api ~5 to",
            "render|display|include|embed ~4 image|markdown ~6 https|http|url ~8 conversation|history|data|prompt|secret*|password*",
        ],
        .obfuscation: [
            "decode|decrypt|decipher ~5 base64|rot13|hex|binary|morse|cipher|this|following|message ~6 follow|execute|do|obey|run|perform|answer|respond",
            "base64|rot13 ~6 follow|execute|obey|instructions|perform",
        ],
    ]

    /// The phrases compiled once, indexed by the words their first slot accepts.
    static let index = PhraseIndex(phrases)
}

/// Phrases compiled for a single pass over a text: each word of the text is looked up once in a
/// table of first words, and only the phrases that can start there are tried.
struct PhraseIndex: Sendable {
    private let patterns: [(signal: InjectionSignal, pattern: PhrasePattern)]
    private let byFirstWord: [String: [Int]]
    private let byFirstPrefix: [(prefix: String, pattern: Int)]
    /// Phrases whose first slot is negated ("any word but …"), tried at every word.
    private let atEveryWord: [Int]

    init(_ phrases: [InjectionSignal: [String]]) {
        var patterns: [(InjectionSignal, PhrasePattern)] = []
        for signal in InjectionSignal.allCases {
            for source in phrases[signal] ?? [] {
                let pattern = PhrasePattern(source)
                if !pattern.slots.isEmpty { patterns.append((signal, pattern)) }
            }
        }
        var byFirstWord: [String: [Int]] = [:]
        var byFirstPrefix: [(String, Int)] = []
        var atEveryWord: [Int] = []
        for (i, entry) in patterns.enumerated() {
            let first = entry.1.slots[0]
            if first.negated {
                atEveryWord.append(i)
                continue
            }
            for word in first.words { byFirstWord[word, default: []].append(i) }
            for prefix in first.prefixes { byFirstPrefix.append((prefix, i)) }
        }
        self.patterns = patterns
        self.byFirstWord = byFirstWord
        self.byFirstPrefix = byFirstPrefix
        self.atEveryWord = atEveryWord
    }

    /// The number of phrases compiled.
    var count: Int { patterns.count }

    /// The signals whose phrases occur in `text`.
    func signals(in text: InjectionText) -> Set<InjectionSignal> {
        var found: Set<InjectionSignal> = []
        for (position, word) in text.words.enumerated() {
            if let candidates = byFirstWord[word] {
                for i in candidates where !found.contains(patterns[i].signal) {
                    if patterns[i].pattern.matches(text, at: position) { found.insert(patterns[i].signal) }
                }
            }
            for (prefix, i) in byFirstPrefix where !found.contains(patterns[i].signal) && word.utf8.starts(with: prefix.utf8) {
                if patterns[i].pattern.matches(text, at: position) { found.insert(patterns[i].signal) }
            }
            for i in atEveryWord where !found.contains(patterns[i].signal) {
                if patterns[i].pattern.matches(text, at: position) { found.insert(patterns[i].signal) }
            }
        }
        return found
    }
}

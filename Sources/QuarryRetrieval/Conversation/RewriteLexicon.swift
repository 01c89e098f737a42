import QuarryCore

/// The word lists `DeterministicRewriter` reads questions with (English; lower-case keys).
enum RewriteLexicon {
    static let questionWords: Set<String> = ["what", "which", "who", "whom", "whose", "when", "where", "why", "how"]

    /// Auxiliaries and modals, with the stems contractions leave ("doesn" of "doesn't").
    static let auxiliaries: Set<String> = [
        "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "have", "has", "had", "can",
        "could", "will", "would", "should", "shall", "may", "might", "must", "cannot", "isn", "aren", "wasn", "weren",
        "don", "doesn", "didn", "hasn", "haven", "hadn", "won", "wouldn", "shouldn", "couldn", "ca", "mustn",
    ]

    static let modals: Set<String> = ["can", "could", "will", "would", "should", "shall", "may", "might", "must"]

    /// The speaker and the listener: never anaphoric.
    static let personal: Set<String> = [
        "i", "me", "my", "mine", "myself", "you", "your", "yours", "yourself", "we", "us", "our", "ours", "ourselves",
    ]

    /// Pronouns that point back at something named earlier.
    static let subjectPronouns: Set<String> = ["it", "they", "them", "he", "him", "she"]
    static let possessivePronouns: Set<String> = ["its", "their", "theirs", "his", "her", "hers"]
    static let reflexivePronouns: Set<String> = ["itself", "themselves", "himself", "herself"]
    static let demonstratives: Set<String> = ["this", "that", "these", "those"]
    static let pointers: Set<String> = ["former", "latter", "aforementioned"]

    static let articles: Set<String> = ["the", "a", "an"]

    /// Words that may stand between a preposition and its noun ("in *all the* tables").
    static let determiners: Set<String> = articles.union([
        "this", "that", "these", "those", "my", "your", "our", "its", "their", "his", "her", "each", "every", "any",
        "some", "all", "no", "both", "either", "neither", "another", "other", "such", "same", "one", "two", "three",
        "several", "many", "much", "few", "more", "most", "whole", "single",
    ])

    static let prepositions: Set<String> = [
        "of", "to", "from", "in", "on", "at", "by", "for", "with", "into", "onto", "than", "between", "about", "over",
        "under", "through", "after", "before", "during", "against", "within", "via", "per", "as", "across", "behind",
        "beside", "besides", "without", "inside", "outside", "among", "around", "near", "since", "until", "upon",
        "like", "towards", "toward", "throughout",
    ]

    /// Prepositions one follow-up may trade for another ("between connections" → "within one
    /// connection", "for an application" → "as the database behind a website").
    static let interchangeablePrepositions: Set<String> = [
        "in", "within", "inside", "on", "for", "at", "with", "between", "among", "as", "under", "across",
    ]

    static let conjunctions: Set<String> = [
        "and", "or", "but", "nor", "so", "if", "then", "than", "whether", "because", "while", "although", "though",
        "unless", "once", "whereas",
    ]

    /// Words that end one clause and start another: a pronoun after one of them may point at a
    /// name before it ("does SQLite's backup API block writers *while* it runs").
    static let clauseBreaks: Set<String> = [
        "while", "when", "whenever", "if", "because", "after", "before", "once", "until", "whereas", "then", "although",
        "though", "unless",
    ]

    /// Words that join clauses only when a clause follows ("… *and how* do I enable it"), and
    /// otherwise join nouns ("VIRTUAL *and* STORED ones").
    static let coordinators: Set<String> = ["and", "but", "so", "or"]

    /// First words that continue the previous question ("And in WAL mode?").
    static let openers: Set<String> = ["and", "also", "so", "but", "or", "plus", "then", "ok", "okay", "alright", "well"]

    /// Two-word openers of an ellipsis ("what about …", "how about …").
    static let openerPairs: Set<[String]> = [["what", "about"], ["how", "about"], ["what", "else"], ["same", "for"]]

    /// Words that say "in addition to / instead of what we discussed".
    static let continuations: Set<String> = ["too", "instead", "else", "either", "still", "otherwise", "again", "anymore", "afterwards"]

    /// Words a question asks with rather than names its topic by, and verbs too general to
    /// carry ("does it *work*").
    static let lightWords: Set<String> = [
        "turn", "switch", "way", "ways", "possible", "best", "want", "need", "needs", "like", "know", "tell", "go",
        "going", "goes", "get", "gets", "make", "makes", "properly", "correctly", "actually", "exactly", "really",
        "simply", "easily", "thing", "things", "stuff", "work", "works", "working", "happen", "happens", "happened",
        "mean", "means", "say", "says", "said", "help", "try", "just", "even", "much", "many", "often", "long", "lot",
        "lots", "kind", "sort", "able", "please", "thanks", "anyone", "someone", "anything", "something", "ever",
        "yet", "well", "there", "here", "now", "then", "ok", "okay", "yes", "no", "exactly", "default", "same",
        "still", "only", "also", "already", "difference", "differences", "example", "examples", "reason", "reasons",
        "purpose", "question", "questions", "answer", "answers", "idea", "advantage", "advantages", "disadvantage",
        "disadvantages", "benefit", "benefits", "pros", "cons", "see",
    ]

    /// Verbs that often end a run of content words ("a STRICT table *change*"): split off as
    /// terms of their own, carried only after the nouns.
    static let commonVerbs: Set<String> = [
        "change", "changes", "support", "supports", "use", "uses", "store", "stores", "handle", "handles", "affect",
        "affects", "differ", "differs", "provide", "provides", "contain", "contains", "accept", "accepts", "allow",
        "allows", "require", "requires", "return", "returns", "cause", "causes", "enable", "enables", "disable",
        "disables", "compare", "compares", "run", "runs", "create", "creates", "add", "adds", "keep", "keeps", "find",
        "finds", "take", "takes", "need", "needs", "block", "blocks", "check", "checks", "count", "counts", "come",
        "comes", "exist", "exists", "appear", "appears", "start", "starts", "stop", "stops", "fail", "fails",
    ]

    /// Every word that is not a content word.
    static let functionWords: Set<String> = StopWords.question
        .union(questionWords).union(auxiliaries).union(personal).union(subjectPronouns).union(possessivePronouns)
        .union(reflexivePronouns).union(demonstratives).union(pointers).union(determiners).union(prepositions)
        .union(conjunctions).union(openers).union(continuations).union(lightWords)
        .union(["s", "t", "d", "ll", "re", "ve", "m", "not", "nt", "ones", "there", "whom", "whose", "yes"])
}

"""Emotion-consistent sentence templates for synthetic transcripts.

Teachers and students say different things; each emotion has its own phrasing, and slots are
filled from small word lists so that utterances vary while their emotion stays clear.
"""

from __future__ import annotations

import numpy as np

TOPICS = ("fractions", "photosynthesis", "the water cycle", "this poem", "the experiment", "our project",
          "the homework", "equations", "the map", "the story", "volcanoes", "the test")

TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "teacher": {
        "neutral": ("Let's look at {topic} now.", "Please open your books to page {n}.", "Today we continue with {topic}.",
                    "Write down the next step.", "Who can tell me about {topic}?", "We have {n} minutes left."),
        "happiness": ("Great job, that's exactly right!", "I love how you explained {topic}!", "Wonderful work everyone, well done!",
                      "That was a brilliant answer!", "I'm so happy with your progress on {topic}!"),
        "surprise": ("Wow, I did not expect that answer!", "Really? You finished {topic} already?", "Oh! That's a surprising result!",
                     "What? Nobody has seen this before?"),
        "anger": ("Stop talking right now, this is unacceptable!", "I am really annoyed that nobody did the homework!",
                  "This is the third time I'm asking you to be quiet!", "Enough! Put that phone away now!"),
        "sadness": ("I'm disappointed, most of you failed {topic}.", "It's a pity we lost so much time today.",
                    "Sadly, the trip has been cancelled.", "I'm sorry, that is not good news."),
        "fear": ("Careful, that chemical is dangerous!", "Watch out, the shelf is about to fall!", "I'm worried we won't finish in time.",
                 "Oh no, is everyone safe?"),
        "disgust": ("Ugh, what is that smell in here?", "That's disgusting, clean up that mess.", "Yuck, who left food in the desk?",
                    "Gross, please wash your hands."),
    },
    "student": {
        "neutral": ("The answer is {n}.", "I think it's about {topic}.", "Can you repeat the question?", "Is it on page {n}?",
                    "I wrote it down.", "We did {topic} last week."),
        "happiness": ("Yes! I finally understand {topic}!", "This is so much fun!", "I got it right, great!", "I love {topic}!"),
        "surprise": ("Whoa, really?", "Wait, what? That's amazing!", "No way, I didn't know that!", "Oh! Is that true?"),
        "anger": ("That's not fair at all!", "I'm so annoyed, he took my pen!", "Stop it, that's mine!", "I hate {topic}!"),
        "sadness": ("I don't understand anything about {topic}.", "I failed again.", "I miss my friend.", "Nobody wants to work with me."),
        "fear": ("I'm scared of the test.", "What if I get it wrong?", "I'm afraid to present.", "Please don't call on me."),
        "disgust": ("Eww, that's gross!", "Yuck, it smells bad.", "That's disgusting!", "Ugh, I hate this slimy stuff."),
    },
}


def make_sentence(role: str, emotion: str, rng: np.random.Generator) -> str:
    """A sentence a ``role`` (``"teacher"`` or ``"student"``) might say with ``emotion``."""
    options = TEMPLATES[role][emotion]
    template = options[rng.integers(len(options))]
    return template.format(topic=TOPICS[rng.integers(len(TOPICS))], n=int(rng.integers(2, 60)))

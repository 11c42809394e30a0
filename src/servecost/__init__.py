"""servecost: what does it cost to serve an LLM to N users at S tokens/s, on which hardware?"""

__version__ = "0.1.0"

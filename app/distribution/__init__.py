"""Issue, controlled copies, recall and read-and-understood acknowledgements."""

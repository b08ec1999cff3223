"""The experiments: what trains or opens a checkpoint for the book, on both tasks, and hands back
finished runs and records. The plan of every chapter's runs (``plan``, shared by the chapters, the
``plan`` and ``sweep`` commands), the chapters' runs and Fig. 7's measurements (``runs``), extending
the committed scale map (``scale_map``), the trained nets that ship with the book measured again
(``shipped``: their test errors and Fig. 7 from the files alone), and the chapters' list and parameter checks. The book
(``paper_repro.book``) stands on this layer and only presents."""

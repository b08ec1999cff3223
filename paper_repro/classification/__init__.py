"""Image classification (§4.1-4.2): the CIFAR and ImageNet nets trained by the paper's recipe.

Modules: :mod:`.config` (``RunConfig`` and the profiles), :mod:`.data` (device-resident loaders,
ImageNet folders), :mod:`.train` (``fit``: the §4.2 step through the run store) and :mod:`.bench`
(the speed switches measured).

The package imports :mod:`.train`, which registers ``fit`` as the training function of
``RunConfig`` (``runs.registry``): whatever imports the config has its training function too.
"""

from paper_repro.classification import train as train

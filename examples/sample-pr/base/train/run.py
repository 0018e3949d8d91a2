import lightning as L

from train.model import Classifier


def main(config):
    model = Classifier(lr=config["lr"])
    trainer = L.Trainer(max_epochs=config["epochs"])
    trainer.fit(model)

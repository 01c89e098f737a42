// Every service layer throws `QuarryError`; importing QuarryCore brings it.
@_exported import QuarryErrors

package io.guardedtuning.data;

/** One document of the pretraining corpus; {@code id} is unique within the corpus and decides its split. */
public record Document(String id, String source, String text) {
}

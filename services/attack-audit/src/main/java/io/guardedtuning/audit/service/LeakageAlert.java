package io.guardedtuning.audit.service;

/** Published on the alerts topic when an attack's ROUGE-L F1 on a session's pass reaches the threshold. */
public record LeakageAlert(String session, String pass, String attack, long step, double rougeL, double threshold,
                           long atMillis) {
}
